// Reference: PyTorch's torchrun environment variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), which the
// TCP transport reads as torchrun and most cluster launchers set them; docs/distributed.md.

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gptgo/gptgo/train"
)

// collectiveOpeners maps a transport name to what opens it: "tcp" here,
// "mpi" added by dist_transport_mpi.go in a -tags mpi build.
var collectiveOpeners = map[string]func(ctx context.Context) (train.Collective, func() error, error){
	"tcp": openTCPCollective,
}

// errNoMPI is what a default build says when asked for MPI.
const errNoMPI = "gptgo was built without MPI: build with -tags mpi (needs Open MPI's libmpi-dev and cgo)"

// openCollective joins the data-parallel group of this process over the
// named transport ("tcp" or "mpi") and returns it with the function that
// closes it.
func openCollective(ctx context.Context, name string) (train.Collective, func() error, error) {
	open, ok := collectiveOpeners[name]
	if !ok {
		if name == "mpi" {
			return nil, nil, fmt.Errorf("%s", errNoMPI)
		}
		names := []string{"mpi"}
		for n := range collectiveOpeners {
			if n != "mpi" {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return nil, nil, fmt.Errorf("unknown transport %q (%s)", name, strings.Join(names, ", "))
	}
	return open(ctx)
}

// openTCPCollective reads the group from the environment, as torchrun sets
// it, and joins it.
func openTCPCollective(ctx context.Context) (train.Collective, func() error, error) {
	cfg, err := tcpConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	c, err := train.NewTCPCollective(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return c, c.Close, nil
}

// tcpConfigFromEnv reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT,
// and the optional GPTGO_MASTER_PORT (the port instead of MASTER_PORT),
// GPTGO_DIST_TIMEOUT (the rendezvous bound, a Go duration) and
// GPTGO_DIST_OP_TIMEOUT (a bound on each operation).
func tcpConfigFromEnv(getenv func(string) string) (train.TCPConfig, error) {
	const hint = " (the tcp transport reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, as torchrun sets them)"
	num := func(name string, lo int) (int, error) {
		s := getenv(name)
		if s == "" {
			return 0, fmt.Errorf("environment variable %s is not set%s", name, hint)
		}
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < lo {
			return 0, fmt.Errorf("environment variable %s=%q: want an integer ≥ %d%s", name, s, lo, hint)
		}
		return v, nil
	}
	var cfg train.TCPConfig
	var err error
	if cfg.Size, err = num("WORLD_SIZE", 1); err != nil {
		return cfg, err
	}
	if cfg.Rank, err = num("RANK", 0); err != nil {
		return cfg, err
	}
	if cfg.Rank >= cfg.Size {
		return cfg, fmt.Errorf("environment variable RANK=%d is not below WORLD_SIZE=%d%s", cfg.Rank, cfg.Size, hint)
	}
	if cfg.Size > 1 {
		host := strings.TrimSpace(getenv("MASTER_ADDR"))
		if host == "" {
			return cfg, fmt.Errorf("environment variable MASTER_ADDR is not set: rank 0's host name or address%s", hint)
		}
		// torchrun's agent may host its own store at MASTER_PORT
		// (TORCHELASTIC_USE_AGENT_STORE=True): then the group meets one
		// port above, unless GPTGO_MASTER_PORT names one.
		portVar := "MASTER_PORT"
		if getenv("GPTGO_MASTER_PORT") != "" {
			portVar = "GPTGO_MASTER_PORT"
		}
		port, err := num(portVar, 1)
		if err != nil {
			return cfg, err
		}
		if portVar == "MASTER_PORT" && strings.EqualFold(getenv("TORCHELASTIC_USE_AGENT_STORE"), "true") {
			port++
		}
		if port > 65535 {
			return cfg, fmt.Errorf("environment variable %s=%d is not a TCP port (1..65535)%s", portVar, port, hint)
		}
		cfg.Addr = net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"GPTGO_DIST_TIMEOUT", &cfg.ConnectTimeout}, {"GPTGO_DIST_OP_TIMEOUT", &cfg.OpTimeout}} {
		if s := getenv(d.name); s != "" {
			v, err := time.ParseDuration(s)
			if err != nil || v < 0 {
				return cfg, fmt.Errorf("environment variable %s=%q: want a duration such as 90s or 10m", d.name, s)
			}
			*d.to = v
		}
	}
	return cfg, nil
}
