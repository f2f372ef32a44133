// Reference: MPI-3.1 §5.9–5.12 for the operations' meaning; ZeRO (Rajbhandari et al. 2020) §7 for their
// volumes; tcp(7) (SO_KEEPALIVE, TCP_USER_TIMEOUT) for how a peer that is gone is noticed. The wire format
// is this project's own, described in docs/distributed.md and in tcpHeader below.

package train

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// TCPCollective is one rank of a group that talks over TCP, pure Go: a full
// mesh of connections, one to every other rank, made by NewTCPCollective.
//
// Every operation is one or two exchanges. In an exchange each rank sends
// every other rank a header and that peer's part of the payload, and reads
// the same from every peer, all connections at once (a writer and a reader
// goroutine per peer). The sums keep the interface's rank order: a rank
// receives every peer's copy of its own shard and adds them 0, 1, …, N−1
// left to right, as the in-process group does, so the results are the
// same bits.
//
//	reduce-scatter  rank r sends shard q of its buffer to rank q; the owner sums   (N−1)/N·n floats sent
//	all-gather      rank r sends its own shard to every rank                          (N−1)/N·n
//	all-reduce      reduce-scatter, then all-gather                                   2·(N−1)/N·n
//	broadcast       the root sends the whole buffer to every rank                     root: (N−1)·n
//	barrier         headers only
//
// Every header carries the operation, a sequence number and the caller's
// length, and each rank checks its peers' against its own: a rank calling
// another operation or passing another length makes the exchange fail on
// every rank (each sees every header), the payloads are read and dropped,
// and the group stays usable. A connection that fails (the peer exited,
// its host is gone, OpTimeout passed) breaks the group: every connection
// is closed, so that the other ranks fail at once too, and each error names
// the rank it came from.
//
// A TCPCollective is used by one goroutine at a time; Close may be called
// from any goroutine and makes a blocked operation return.
type TCPCollective struct {
	rank, size int
	peers      []net.Conn // by rank; nil at this rank
	opTimeout  time.Duration
	deadPeer   time.Duration
	seq        uint64               // exchanges so far, the same on every rank
	broken     error                // the I/O error that ended the group
	recv       [][]float32          // reduce-scatter: the peers' copies of this rank's shard, by rank
	hdrs       [][tcpHeaderLen]byte // the header read from each peer in the current exchange
	mu         sync.Mutex           // guards stats (Stats may be called from another goroutine)
	stats      CommStats
	closeOnce  sync.Once
}

// tcpOp numbers the operations on the wire; the numbers are never reused.
type tcpOp uint32

const (
	tcpAllReduce     tcpOp = 1
	tcpReduceScatter tcpOp = 2
	tcpAllGather     tcpOp = 3
	tcpBroadcast     tcpOp = 4
	tcpBarrier       tcpOp = 5
)

func (o tcpOp) String() string {
	switch o {
	case tcpAllReduce:
		return "all-reduce"
	case tcpReduceScatter:
		return "reduce-scatter"
	case tcpAllGather:
		return "all-gather"
	case tcpBroadcast:
		return "broadcast"
	case tcpBarrier:
		return "barrier"
	}
	return fmt.Sprintf("operation %d", uint32(o))
}

// tcpHeader precedes every message, little-endian, 40 bytes:
//
//	[0:4]   magic "gcol"
//	[4:8]   operation (tcpOp)
//	[8:16]  sequence number of the exchange (0, 1, … since the group formed)
//	[16:24] the sender's buffer length, in float32 elements
//	[24:28] broadcast root (0 for other operations)
//	[28:32] sender's rank
//	[32:40] payload length in bytes (float32 little-endian follows)
const tcpHeaderLen = 40

var tcpMagic = [4]byte{'g', 'c', 'o', 'l'}

type tcpHeader struct {
	op      tcpOp
	seq     uint64
	n       uint64
	root    uint32
	from    uint32
	payload uint64
}

func (h *tcpHeader) put(b *[tcpHeaderLen]byte) {
	copy(b[0:4], tcpMagic[:])
	binary.LittleEndian.PutUint32(b[4:], uint32(h.op))
	binary.LittleEndian.PutUint64(b[8:], h.seq)
	binary.LittleEndian.PutUint64(b[16:], h.n)
	binary.LittleEndian.PutUint32(b[24:], h.root)
	binary.LittleEndian.PutUint32(b[28:], h.from)
	binary.LittleEndian.PutUint64(b[32:], h.payload)
}

func (h *tcpHeader) get(b *[tcpHeaderLen]byte) bool {
	if [4]byte(b[0:4]) != tcpMagic {
		return false
	}
	h.op = tcpOp(binary.LittleEndian.Uint32(b[4:]))
	h.seq = binary.LittleEndian.Uint64(b[8:])
	h.n = binary.LittleEndian.Uint64(b[16:])
	h.root = binary.LittleEndian.Uint32(b[24:])
	h.from = binary.LittleEndian.Uint32(b[28:])
	h.payload = binary.LittleEndian.Uint64(b[32:])
	return true
}

func (c *TCPCollective) Rank() int { return c.rank }
func (c *TCPCollective) Size() int { return c.size }

// Stats returns this rank's traffic by operation since the group formed.
func (c *TCPCollective) Stats() CommStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Close closes every connection. A blocked operation returns an error;
// the other ranks see their connections to this one close.
func (c *TCPCollective) Close() error {
	var errs []error
	c.closeOnce.Do(func() {
		for _, p := range c.peers {
			if p != nil {
				if err := p.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
					errs = append(errs, err)
				}
			}
		}
	})
	return errors.Join(errs...)
}

func (c *TCPCollective) Barrier() error {
	c.count(tcpBarrier, 1, 0, 0)
	return c.exchange(tcpBarrier, 0, 0, nil, nil)
}

func (c *TCPCollective) ReduceScatter(buf []float32) error {
	c.count(tcpReduceScatter, 1, 0, 0)
	return c.reduceScatter(tcpReduceScatter, buf)
}

func (c *TCPCollective) AllGather(buf []float32) error {
	c.count(tcpAllGather, 1, 0, 0)
	return c.allGather(tcpAllGather, buf)
}

// AllReduce is a reduce-scatter and an all-gather: the same volume as a
// ring all-reduce, 2·(N−1)/N·n floats per rank, in two exchanges rather
// than 2·(N−1) steps.
func (c *TCPCollective) AllReduce(buf []float32) error {
	c.count(tcpAllReduce, 1, 0, 0)
	if err := c.reduceScatter(tcpAllReduce, buf); err != nil {
		return err
	}
	return c.allGather(tcpAllReduce, buf)
}

func (c *TCPCollective) reduceScatter(op tcpOp, buf []float32) error {
	n := len(buf)
	lo, hi := ShardRange(n, c.size, c.rank)
	for q := range c.recv {
		if q != c.rank && cap(c.recv[q]) < hi-lo {
			c.recv[q] = make([]float32, hi-lo)
		}
	}
	err := c.exchange(op, n, 0,
		func(q int) []float32 { l, h := ShardRange(n, c.size, q); return buf[l:h] },
		func(q int) []float32 { return c.recv[q][:hi-lo] })
	if err != nil {
		return err
	}
	part := func(q int) []float32 {
		if q == c.rank {
			return buf[lo:hi]
		}
		return c.recv[q][:hi-lo]
	}
	// s = part 0 + part 1 + … left to right, accumulated in part 0's own
	// memory (this rank's shard on rank 0, rank 0's copy elsewhere).
	s := part(0)
	for q := 1; q < c.size; q++ {
		for i, x := range part(q) {
			s[i] += x
		}
	}
	if c.rank != 0 {
		copy(buf[lo:hi], s)
	}
	return nil
}

func (c *TCPCollective) allGather(op tcpOp, buf []float32) error {
	n := len(buf)
	lo, hi := ShardRange(n, c.size, c.rank)
	return c.exchange(op, n, 0,
		func(int) []float32 { return buf[lo:hi] },
		func(q int) []float32 { l, h := ShardRange(n, c.size, q); return buf[l:h] })
}

func (c *TCPCollective) Broadcast(buf []float32, root int) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("train: tcp rank %d: broadcast from rank %d of a group of %d", c.rank, root, c.size)
	}
	c.count(tcpBroadcast, 1, 0, 0)
	var send, recv func(int) []float32
	if c.rank == root {
		send = func(int) []float32 { return buf }
	} else {
		recv = func(q int) []float32 {
			if q == root {
				return buf
			}
			return nil
		}
	}
	return c.exchange(tcpBroadcast, len(buf), root, send, recv)
}

// exchange is one round: to every peer q, a header and send(q); from every
// peer q, a header and, when it agrees with this rank's, recv(q)'s worth
// of payload into recv(q). nil funcs send or expect no payload. On a
// disagreement the payloads are drained, so the streams stay in step.
func (c *TCPCollective) exchange(op tcpOp, n, root int, send, recv func(q int) []float32) error {
	if c.broken != nil {
		return fmt.Errorf("train: tcp rank %d: %v: the group is broken: %w", c.rank, op, c.broken)
	}
	seq := c.seq
	c.seq++
	if c.size == 1 {
		return nil
	}
	var deadline time.Time
	if c.opTimeout > 0 {
		deadline = time.Now().Add(c.opTimeout)
	}
	ioErrs := make([]error, 2*c.size) // writer q at 2q, reader q at 2q+1
	mismatch := make([]error, c.size) // a peer that disagrees
	var sent, got int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	// After the first failed connection the others get one more second:
	// live peers that arrive in time report what they saw (each names the
	// rank that died), and a slow one no longer holds this rank up.
	var failOnce sync.Once
	var abandoning atomic.Bool
	failed := func(i int, err error) {
		if abandoning.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
			err = errAbandoned
		}
		ioErrs[i] = err
		failOnce.Do(func() {
			abandoning.Store(true)
			t := time.Now().Add(time.Second)
			for _, p := range c.peers {
				if p != nil {
					p.SetDeadline(t)
				}
			}
		})
	}
	for q, conn := range c.peers {
		if conn == nil {
			continue
		}
		if c.opTimeout > 0 {
			conn.SetDeadline(deadline) // errors surface on the read or write below
		}
		var out []float32
		if send != nil {
			out = send(q)
		}
		wg.Go(func() {
			h := tcpHeader{op: op, seq: seq, n: uint64(n), root: uint32(root), from: uint32(c.rank), payload: 4 * uint64(len(out))}
			var hb [tcpHeaderLen]byte
			h.put(&hb)
			if err := writeMessage(conn, hb[:], out); err != nil {
				failed(2*q, c.connErr(q, "sending to", err))
				return
			}
			mu.Lock()
			sent += 4 * int64(len(out))
			mu.Unlock()
		})
		var in []float32
		if recv != nil {
			in = recv(q)
		}
		wg.Go(func() {
			hb := &c.hdrs[q]
			if _, err := io.ReadFull(conn, hb[:]); err != nil {
				failed(2*q+1, c.connErr(q, "reading from", err))
				return
			}
			var h tcpHeader
			switch {
			case !h.get(hb):
				failed(2*q+1, fmt.Errorf("rank %d sent a message without the collective's magic (%q): not a gptgo peer, or the stream is corrupt", q, hb[0:4]))
				return
			case h.seq != seq || h.from != uint32(q):
				failed(2*q+1, fmt.Errorf("rank %d's message is exchange #%d from rank %d, want #%d from rank %d: the stream is out of step", q, h.seq, h.from, seq, q))
				return
			case h.op != op:
				mismatch[q] = fmt.Errorf("rank %d called %v", q, h.op)
			case h.n != uint64(n):
				mismatch[q] = fmt.Errorf("rank %d passed %d elements", q, h.n)
			case h.root != uint32(root):
				mismatch[q] = fmt.Errorf("rank %d broadcasts from rank %d", q, h.root)
			case h.payload != 4*uint64(len(in)):
				mismatch[q] = fmt.Errorf("rank %d sent %d payload bytes, want %d", q, h.payload, 4*len(in))
			}
			var err error
			if mismatch[q] != nil {
				_, err = io.CopyN(io.Discard, conn, int64(h.payload))
			} else {
				err = readFloats(conn, in)
			}
			if err != nil {
				failed(2*q+1, c.connErr(q, "reading from", err))
				return
			}
			mu.Lock()
			got += int64(h.payload)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(ioErrs...); err != nil {
		// Connections this rank closed itself after the first failure say
		// nothing about their peers: leave them out when there is more.
		var cause []error
		for _, e := range ioErrs {
			if e != nil && !errors.Is(e, errClosedHere) && !errors.Is(e, errAbandoned) {
				cause = append(cause, e)
			}
		}
		if len(cause) > 0 {
			err = errors.Join(cause...)
		}
		c.broken = err
		c.Close() // the other ranks' reads from this one fail now, not at their deadline
		return fmt.Errorf("train: tcp rank %d: %v #%d: %w", c.rank, op, seq, err)
	}
	c.count(op, 0, sent, got)
	if err := errors.Join(mismatch...); err != nil {
		return fmt.Errorf("train: tcp rank %d: %v of %d elements: %w", c.rank, op, n, err)
	}
	return nil
}

// count adds calls and an exchange's payload bytes to op's figures (an
// all-reduce is one call of two exchanges).
func (c *TCPCollective) count(op tcpOp, calls, sent, got int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s *OpStats
	switch op {
	case tcpAllReduce:
		s = &c.stats.AllReduce
	case tcpReduceScatter:
		s = &c.stats.ReduceScatter
	case tcpAllGather:
		s = &c.stats.AllGather
	case tcpBroadcast:
		s = &c.stats.Broadcast
	default:
		s = &c.stats.Barrier
	}
	s.Calls += calls
	s.Sent += sent
	s.Received += got
}

// errClosedHere is a connection that this rank closed (Close, from
// another goroutine); errAbandoned one that this rank stopped waiting on
// after another failed. Neither says anything about the peer.
var (
	errClosedHere = errors.New("this rank's transport was closed")
	errAbandoned  = errors.New("abandoned after another connection failed")
)

// connErr says what went wrong with the connection to rank q, in the
// words a user needs: which rank, and whether it went away or went quiet.
func (c *TCPCollective) connErr(q int, what string, err error) error {
	switch {
	case errors.Is(err, syscall.ETIMEDOUT):
		return fmt.Errorf("rank %d: its host stopped answering for the dead-peer timeout (%v): it crashed or dropped off the network: %w", q, c.deadPeer, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("rank %d: nothing for %v (the op timeout): it is stuck, or much slower than this rank: %w", q, c.opTimeout, err)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("rank %d closed the connection (it exited, was killed, or gave up after an error of its own): %v", q, err)
	case errors.Is(err, net.ErrClosed):
		return fmt.Errorf("%s rank %d: %w", what, q, errClosedHere)
	}
	return fmt.Errorf("%s rank %d: %w", what, q, err)
}

// littleEndian is whether float32s can go on the wire as they lie in memory.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// f32bytes views s as its bytes, no copy.
func f32bytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

// writeMessage writes a header and the payload as little-endian float32s
// in one writev on little-endian machines.
func writeMessage(w io.Writer, hdr []byte, payload []float32) error {
	var b []byte
	if littleEndian {
		b = f32bytes(payload)
	} else {
		b = make([]byte, 4*len(payload))
		for i, x := range payload {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
	}
	bufs := net.Buffers{hdr, b}
	_, err := bufs.WriteTo(w)
	return err
}

// readFloats fills dst with little-endian float32s from r.
func readFloats(r io.Reader, dst []float32) error {
	if littleEndian {
		_, err := io.ReadFull(r, f32bytes(dst))
		return err
	}
	b := make([]byte, 4*len(dst))
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}
