// W5 peer: a TCP echo server in Go's net package, as Go users write it: a
// goroutine per connection copying what it reads back (io.Copy).  --port P.
// --buf B (W5c, 100,000 connections) copies through a B-byte buffer of
// its own instead, as loom's server there does: io.Copy's 32 KiB buffer
// (or the splice pipe it uses between two TCP sockets) per connection is
// what a Go server holding many connections avoids.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
)

func echoBuf(c net.Conn, size int) {
	buf := make([]byte, size)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	port := flag.Int("port", 8888, "port")
	size := flag.Int("buf", 0, "copy through a buffer of this size (0: io.Copy)")
	flag.Parse()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			if *size > 0 {
				echoBuf(c, *size)
			} else {
				io.Copy(c, c)
			}
		}(c)
	}
}
