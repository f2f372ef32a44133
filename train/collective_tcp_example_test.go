// Reference: torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), here as TCPConfig fields.

package train_test

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/gptgo/gptgo/train"
)

// Two ranks meet at rank 0's address and all-reduce; in a real run each
// is its own process, with its rank from the environment
// (cmd/gptgo/dist_transport.go), and rank 0 listens on MASTER_PORT.
func ExampleNewTCPCollective() {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // rank 0's port; a test picks a free one
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([][]float32, 2)
	var wg sync.WaitGroup
	for rank := range 2 {
		wg.Go(func() {
			cfg := train.TCPConfig{Rank: rank, Size: 2, Addr: ln.Addr().String()}
			if rank == 0 {
				cfg.Listener = ln
			}
			c, err := train.NewTCPCollective(context.Background(), cfg)
			if err != nil {
				fmt.Println(err)
				return
			}
			defer c.Close()
			buf := []float32{float32(rank + 1), 10 * float32(rank+1), 0.5}
			if err := c.AllReduce(buf); err != nil {
				fmt.Println(err)
				return
			}
			out[rank] = buf
		})
	}
	wg.Wait()
	fmt.Println(out[0], out[1])
	// Output: [3 30 1] [3 30 1]
}
