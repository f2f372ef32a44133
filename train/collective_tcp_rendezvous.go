// Reference: PyTorch's torchrun environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT: rank 0's address is
// the rendezvous point); tcp(7) for the keepalive settings. The hello and table messages are this project's
// own, described below and in docs/distributed.md.

package train

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// TCPConfig says where a rank stands in its group and how long it waits.
type TCPConfig struct {
	Rank, Size int
	// Addr is rank 0's host:port (MASTER_ADDR:MASTER_PORT). Rank 0 listens
	// on that port on every interface; the others connect to it.
	Addr string
	// Listener, when set on rank 0, is used instead of listening on Addr's
	// port (tests pass one on port 0); the collective closes it.
	Listener net.Listener
	// ConnectTimeout bounds the rendezvous: rank 0 waits this long for the
	// others, the others keep retrying rank 0 this long. Default 5 minutes.
	ConnectTimeout time.Duration
	// OpTimeout, when positive, bounds how long one operation waits for a
	// peer. Zero leaves it unbounded (a rank may wait in Barrier while
	// another writes a checkpoint); a peer that is gone is still noticed
	// within DeadPeerTimeout.
	OpTimeout time.Duration
	// DeadPeerTimeout is how long a connection may go unanswered at the TCP
	// level (no keepalive answers, data unacknowledged) before it fails: a
	// host that crashed or dropped off the network sends no FIN. Default
	// 30 seconds. A peer process that exits is noticed at once (its kernel
	// closes the connection).
	DeadPeerTimeout time.Duration
}

// tcpHelloMagic opens the first message on every connection.
var tcpHelloMagic = [8]byte{'g', 'p', 't', 'g', 'o', 'd', 'p', '1'}

// The rendezvous, all integers little-endian:
//
//	rank r > 0 → rank 0:  magic(8) rank u32, size u32, mesh port u32
//	rank 0 → rank r:      magic(8) status u32 (0 ok, 1 error), then for ok
//	                      size entries (host length u16, host, port u32), for
//	                      error a message (length u16, text)
//	rank i → rank j:      magic(8) rank u32, size u32, 0 u32   (0 < j < i)
//
// Rank 0 learns each rank's host from the address its connection came
// from, so a rank never has to know its own address. The connection from
// rank r to rank 0 stays as their link; the other pairs connect the higher
// rank to the lower, which listens on the port it announced.
const tcpHelloLen = 8 + 12

// maxTCPRanks bounds the group: every rank holds a connection to every
// other, and a world size from a mistyped environment must not become a
// huge allocation.
const maxTCPRanks = 4096

// NewTCPCollective joins the group: rank 0 listens at cfg.Addr's port
// until every rank has registered, sends each the table of addresses, and
// the ranks connect to one another; it returns after a barrier, when every
// rank has all its connections. A group of one needs no network.
func NewTCPCollective(ctx context.Context, cfg TCPConfig) (*TCPCollective, error) {
	if cfg.Size < 1 || cfg.Rank < 0 || cfg.Rank >= cfg.Size {
		return nil, fmt.Errorf("train: tcp collective: rank %d of a group of %d", cfg.Rank, cfg.Size)
	}
	if cfg.Size > maxTCPRanks {
		return nil, fmt.Errorf("train: tcp collective: a group of %d ranks: the full mesh is for at most %d", cfg.Size, maxTCPRanks)
	}
	if cfg.Size > 1 && cfg.Addr == "" && (cfg.Rank != 0 || cfg.Listener == nil) {
		return nil, fmt.Errorf("train: tcp collective: rank %d: no address for rank 0", cfg.Rank)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Minute
	}
	if cfg.DeadPeerTimeout <= 0 {
		cfg.DeadPeerTimeout = 30 * time.Second
	}
	c := &TCPCollective{
		rank: cfg.Rank, size: cfg.Size, opTimeout: cfg.OpTimeout, deadPeer: cfg.DeadPeerTimeout,
		peers: make([]net.Conn, cfg.Size), recv: make([][]float32, cfg.Size), hdrs: make([][tcpHeaderLen]byte, cfg.Size),
	}
	if cfg.Size == 1 {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	r := rendezvous{cfg: cfg, c: c}
	var err error
	if cfg.Rank == 0 {
		err = r.master(ctx)
	} else {
		err = r.worker(ctx)
	}
	if err == nil {
		for _, p := range c.peers {
			if p != nil {
				if err = tuneConn(p, cfg.DeadPeerTimeout); err != nil {
					break
				}
			}
		}
	}
	if err == nil {
		// Every rank has all its connections when this returns; a rank that
		// failed half-way makes the others fail here rather than later.
		stop := context.AfterFunc(ctx, func() { c.Close() })
		err = c.exchange(tcpBarrier, 0, 0, nil, nil)
		if !stop() {
			err = fmt.Errorf("train: tcp rank %d: the group did not form within %v", cfg.Rank, cfg.ConnectTimeout)
		}
		c.stats = CommStats{}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

type rendezvous struct {
	cfg TCPConfig
	c   *TCPCollective
}

func (r *rendezvous) errorf(format string, args ...any) error {
	return fmt.Errorf("train: tcp rank %d of %d: "+format, append([]any{r.cfg.Rank, r.cfg.Size}, args...)...)
}

// listen returns a listener that ctx's end closes.
func (r *rendezvous) listen(ctx context.Context, addr string) (net.Listener, func(), error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	return ln, func() { stop(); ln.Close() }, nil
}

// accept returns the next connection that opens with a valid hello; a
// stray connection (a port scanner, another program) is dropped.
func (r *rendezvous) accept(ctx context.Context, ln net.Listener) (net.Conn, [3]uint32, error) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil, [3]uint32{}, ctx.Err()
			}
			return nil, [3]uint32{}, err
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		var b [tcpHelloLen]byte
		if _, err := io.ReadFull(conn, b[:]); err != nil || [8]byte(b[:8]) != tcpHelloMagic {
			conn.Close()
			continue
		}
		conn.SetDeadline(time.Time{})
		return conn, [3]uint32{binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:]), binary.LittleEndian.Uint32(b[16:])}, nil
	}
}

func hello(conn net.Conn, rank, size, port int) error {
	var b [tcpHelloLen]byte
	copy(b[:], tcpHelloMagic[:])
	binary.LittleEndian.PutUint32(b[8:], uint32(rank))
	binary.LittleEndian.PutUint32(b[12:], uint32(size))
	binary.LittleEndian.PutUint32(b[16:], uint32(port))
	_, err := conn.Write(b[:])
	return err
}

// master is rank 0's side: collect every rank's hello, then send the table.
func (r *rendezvous) master(ctx context.Context) error {
	cfg := r.cfg
	ln, stop := cfg.Listener, func() {}
	if ln == nil {
		_, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return r.errorf("rendezvous address %q: %v", cfg.Addr, err)
		}
		var lerr error
		if ln, stop, lerr = r.listen(ctx, net.JoinHostPort("", port)); lerr != nil {
			return r.errorf("listening on port %s for the other ranks (another job, or a launcher's own store, may hold it): %v", port, lerr)
		}
	} else {
		stop = func() { ln.Close() }
		defer context.AfterFunc(ctx, func() { ln.Close() })()
	}
	defer stop()
	ports := make([]int, cfg.Size)
	var fail error
	for got := 1; got < cfg.Size && fail == nil; got++ {
		conn, h, err := r.accept(ctx, ln)
		if err != nil {
			var missing []int
			for q := 1; q < cfg.Size; q++ {
				if r.c.peers[q] == nil {
					missing = append(missing, q)
				}
			}
			fail = r.errorf("waiting at %s for ranks %v to register: %v", ln.Addr(), missing, err)
			break
		}
		rank, size := int(h[0]), int(h[1])
		switch {
		case size != cfg.Size:
			fail = r.errorf("rank %d (from %s) says the world size is %d, rank 0 says %d", rank, conn.RemoteAddr(), size, cfg.Size)
		case rank < 1 || rank >= cfg.Size:
			fail = r.errorf("a process at %s registered as rank %d, outside 1..%d", conn.RemoteAddr(), rank, cfg.Size-1)
		case r.c.peers[rank] != nil:
			fail = r.errorf("two processes registered as rank %d (%s and %s)", rank, r.c.peers[rank].RemoteAddr(), conn.RemoteAddr())
		}
		if fail != nil {
			sendStatus(conn, fail)
			conn.Close()
			break
		}
		r.c.peers[rank], ports[rank] = conn, int(h[2])
	}
	if fail != nil {
		for _, p := range r.c.peers {
			if p != nil {
				sendStatus(p, fail)
			}
		}
		return fail
	}
	// The table: each rank's host as rank 0 saw it, and its mesh port.
	table := binary.LittleEndian.AppendUint32(append([]byte(nil), tcpHelloMagic[:]...), 0)
	for q := range cfg.Size {
		host := ""
		if q > 0 {
			host, _, _ = net.SplitHostPort(r.c.peers[q].RemoteAddr().String())
		}
		table = binary.LittleEndian.AppendUint16(table, uint16(len(host)))
		table = append(table, host...)
		table = binary.LittleEndian.AppendUint32(table, uint32(ports[q]))
	}
	for q, p := range r.c.peers {
		if p == nil {
			continue
		}
		p.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := p.Write(table); err != nil {
			return r.errorf("sending the address table to rank %d: %v", q, err)
		}
		p.SetWriteDeadline(time.Time{})
	}
	return nil
}

// sendStatus tells a registered rank that the rendezvous failed, and why.
func sendStatus(conn net.Conn, err error) {
	msg := err.Error()
	if len(msg) > 4000 {
		msg = msg[:4000]
	}
	b := binary.LittleEndian.AppendUint32(append([]byte(nil), tcpHelloMagic[:]...), 1)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(msg)))
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	conn.Write(append(b, msg...))
}

// worker is rank r > 0: listen for the higher ranks, register with rank 0,
// read the table, connect to the lower ranks, accept the higher ones.
func (r *rendezvous) worker(ctx context.Context) error {
	cfg := r.cfg
	var ln net.Listener
	port := 0
	if cfg.Rank < cfg.Size-1 { // the last rank dials everyone and is dialed by none
		l, stop, err := r.listen(ctx, ":0")
		if err != nil {
			return r.errorf("listening for the higher ranks: %v", err)
		}
		defer stop()
		ln, port = l, l.Addr().(*net.TCPAddr).Port
	}
	conn, err := dialRetry(ctx, cfg.Addr)
	if err != nil {
		return r.errorf("could not reach rank 0 at %s: %v", cfg.Addr, err)
	}
	r.c.peers[0] = conn
	if err := hello(conn, cfg.Rank, cfg.Size, port); err != nil {
		return r.errorf("registering with rank 0 at %s: %v", cfg.Addr, err)
	}
	hosts, ports, err := r.readTable(ctx, conn)
	if err != nil {
		return err
	}
	conn.SetReadDeadline(time.Time{}) // in case ctx ended just as the table came
	for q := 1; q < cfg.Rank; q++ {
		addr := net.JoinHostPort(hosts[q], strconv.Itoa(ports[q]))
		pc, err := dialRetry(ctx, addr)
		if err != nil {
			return r.errorf("connecting to rank %d at %s: %v", q, addr, err)
		}
		r.c.peers[q] = pc
		if err := hello(pc, cfg.Rank, cfg.Size, 0); err != nil {
			return r.errorf("greeting rank %d at %s: %v", q, addr, err)
		}
	}
	for got := cfg.Rank + 1; got < cfg.Size; got++ {
		pc, h, err := r.accept(ctx, ln)
		if err != nil {
			return r.errorf("waiting for the higher ranks to connect: %v", err)
		}
		q := int(h[0])
		if int(h[1]) != cfg.Size || q <= cfg.Rank || q >= cfg.Size || r.c.peers[q] != nil {
			pc.Close()
			return r.errorf("a process at %s introduced itself as rank %d of %d", pc.RemoteAddr(), q, h[1])
		}
		r.c.peers[q] = pc
	}
	return nil
}

// readTable reads rank 0's answer: the table, or why the group failed.
func (r *rendezvous) readTable(ctx context.Context, conn net.Conn) ([]string, []int, error) {
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	fail := func(err error) ([]string, []int, error) {
		if ctx.Err() != nil {
			return nil, nil, r.errorf("rank 0 at %s did not send the address table (some rank did not register?): %v", r.cfg.Addr, ctx.Err())
		}
		return nil, nil, r.errorf("reading the address table from rank 0 at %s: %v", r.cfg.Addr, err)
	}
	var head [12]byte
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		return fail(err)
	}
	if [8]byte(head[:8]) != tcpHelloMagic {
		return fail(errors.New("not a gptgo rank 0"))
	}
	u16 := func() (int, error) {
		var b [2]byte
		_, err := io.ReadFull(conn, b[:])
		return int(binary.LittleEndian.Uint16(b[:])), err
	}
	if binary.LittleEndian.Uint32(head[8:]) != 0 {
		n, err := u16()
		if err != nil {
			return fail(err)
		}
		msg := make([]byte, n)
		io.ReadFull(conn, msg)
		return nil, nil, r.errorf("rank 0 stopped the rendezvous: %s", msg)
	}
	hosts, ports := make([]string, r.cfg.Size), make([]int, r.cfg.Size)
	for q := range r.cfg.Size {
		n, err := u16()
		if err != nil {
			return fail(err)
		}
		b := make([]byte, n+4)
		if _, err := io.ReadFull(conn, b); err != nil {
			return fail(err)
		}
		hosts[q], ports[q] = string(b[:n]), int(binary.LittleEndian.Uint32(b[n:]))
	}
	return hosts, ports, nil
}

// dialRetry connects to addr, retrying while the other side is not yet
// listening (ranks start in any order), until ctx ends.
func dialRetry(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	wait := 20 * time.Millisecond
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last try: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// tuneConn sets the keepalive probes (idle a third of d, then five probes
// over the rest) and, where the system has it, TCP_USER_TIMEOUT = d, so
// that a peer host that vanished fails the connection within about d.
func tuneConn(conn net.Conn, d time.Duration) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil
	}
	if err := tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: d / 3, Interval: d * 2 / 15, Count: 5}); err != nil {
		return fmt.Errorf("train: tcp collective: keepalive on %s: %w", conn.RemoteAddr(), err)
	}
	return setUserTimeout(tc, d)
}
