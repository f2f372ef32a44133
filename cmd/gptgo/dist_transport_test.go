// Reference: torchrun's environment variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), as
// cmd/gptgo/dist_transport.go reads them.

package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestTCPConfigFromEnv: a full torchrun environment gives the config;
// each missing or malformed variable gives an error naming it.
func TestTCPConfigFromEnv(t *testing.T) {
	full := map[string]string{"RANK": "1", "WORLD_SIZE": "4", "MASTER_ADDR": "node0", "MASTER_PORT": "29500", "GPTGO_DIST_OP_TIMEOUT": "90s"}
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := tcpConfigFromEnv(get(full))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rank != 1 || cfg.Size != 4 || cfg.Addr != "node0:29500" || cfg.OpTimeout != 90*time.Second {
		t.Errorf("config %+v", cfg)
	}
	full["MASTER_ADDR"] = "[fd00::1]"
	if cfg, err := tcpConfigFromEnv(get(full)); err != nil || cfg.Addr != "[fd00::1]:29500" {
		t.Errorf("an IPv6 MASTER_ADDR gave %q, %v", cfg.Addr, err)
	}
	for _, c := range []struct{ key, val, want string }{
		{"RANK", "", "RANK is not set"},
		{"WORLD_SIZE", "", "WORLD_SIZE is not set"},
		{"MASTER_ADDR", "", "MASTER_ADDR is not set"},
		{"MASTER_PORT", "", "MASTER_PORT is not set"},
		{"RANK", "x", `RANK="x": want an integer`},
		{"RANK", "4", "RANK=4 is not below WORLD_SIZE=4"},
		{"WORLD_SIZE", "0", `WORLD_SIZE="0": want an integer ≥ 1`},
		{"MASTER_PORT", "70000", "MASTER_PORT=70000 is not a TCP port"},
		{"GPTGO_MASTER_PORT", "-1", `GPTGO_MASTER_PORT="-1": want an integer ≥ 1`},
		{"GPTGO_DIST_TIMEOUT", "soon", `GPTGO_DIST_TIMEOUT="soon": want a duration`},
	} {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		m[c.key] = c.val
		if _, err := tcpConfigFromEnv(get(m)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q gave %v, want %q", c.key, c.val, err, c.want)
		}
	}
	full["MASTER_ADDR"] = "node0"
	full["TORCHELASTIC_USE_AGENT_STORE"] = "True" // torchrun's agent holds MASTER_PORT
	if cfg, err := tcpConfigFromEnv(get(full)); err != nil || cfg.Addr != "node0:29501" {
		t.Errorf("under torchrun's agent store: %q, %v", cfg.Addr, err)
	}
	full["GPTGO_MASTER_PORT"] = "31000"
	if cfg, err := tcpConfigFromEnv(get(full)); err != nil || cfg.Addr != "node0:31000" {
		t.Errorf("with GPTGO_MASTER_PORT: %q, %v", cfg.Addr, err)
	}
	delete(full, "TORCHELASTIC_USE_AGENT_STORE")
	delete(full, "GPTGO_MASTER_PORT")
	if cfg, err := tcpConfigFromEnv(get(map[string]string{"RANK": "0", "WORLD_SIZE": "1"})); err != nil || cfg.Size != 1 {
		t.Errorf("a group of one without MASTER_ADDR gave %+v, %v", cfg, err)
	}
}

// TestOpenCollective: "tcp" with WORLD_SIZE=1 opens a group of one; an
// unknown name lists the transports; "mpi" in a build without it says how
// to build with it.
func TestOpenCollective(t *testing.T) {
	t.Setenv("RANK", "0")
	t.Setenv("WORLD_SIZE", "1")
	c, closeFn, err := openCollective(context.Background(), "tcp")
	if err != nil {
		t.Fatal(err)
	}
	buf := []float32{1, 2}
	if err := c.AllReduce(buf); err != nil || buf[0] != 1 || c.Size() != 1 {
		t.Errorf("all-reduce in a group of one: %v %v", buf, err)
	}
	if err := closeFn(); err != nil {
		t.Error(err)
	}
	if _, _, err := openCollective(context.Background(), "nccl"); err == nil || !strings.Contains(err.Error(), `unknown transport "nccl" (mpi, tcp)`) {
		t.Errorf("an unknown transport gave %v", err)
	}
	if collectiveOpeners["mpi"] == nil {
		if _, _, err := openCollective(context.Background(), "mpi"); err == nil || err.Error() != errNoMPI {
			t.Errorf("mpi in the default build gave %v", err)
		}
	}
}
