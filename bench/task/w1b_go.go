// W1b peer: two goroutines ping-pong n hops over unbuffered channels, run
// with GOMAXPROCS=1 (set by the workload's env) so that, like loom's loop,
// one thread does the switching.  A hop is one value handed from one
// goroutine to the other.  Prints RESULT ns_per_hop.
package main

import (
	"flag"
	"fmt"
	"time"
)

func main() {
	n := flag.Int("n", 10000000, "hops")
	flag.Parse()
	rounds := *n / 2
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	t0 := time.Now()
	v := 0
	for i := 0; i < rounds; i++ {
		ping <- v
		v = <-pong
	}
	elapsed := time.Since(t0)
	close(ping)
	if v != rounds {
		panic("lost a hop")
	}
	fmt.Printf("RESULT ns_per_hop %.2f\n", float64(elapsed.Nanoseconds())/float64(rounds*2))
}
