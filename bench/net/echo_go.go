// W5 peer: a TCP echo server in Go's net package, as Go users write it: a
// goroutine per connection copying what it reads back (io.Copy).  --port P.
// --buf B (W5c, 100,000 connections) copies through a B-byte buffer of
// its own instead, as loom's server there does: io.Copy's 32 KiB buffer
// (or the splice pipe it uses between two TCP sockets) per connection is
// what a Go server holding many connections avoids.
//
// --procs P (W5c where one process may not hold every descriptor) is the
// prefork deployment, as loom's: P processes of this program (Go cannot
// fork, so it re-executes itself with --child), each listening on the
// same port with SO_REUSEPORT (net.ListenConfig.Control).  Once all listen
// the parent prints "ready <pid>..." and on SIGTERM/SIGINT stops them;
// children also die with the parent (Pdeathsig).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
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

// soReusePort is SO_REUSEPORT on Linux (asm-generic/socket.h): Go's
// syscall package does not name it, and golang.org/x/sys is no Debian
// package this benchmark installs.
const soReusePort = 0xf

func reusePort(network, address string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

func serve(port, size int, child bool) {
	lc := net.ListenConfig{}
	if child {
		lc.Control = reusePort
	}
	ln, err := lc.Listen(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if child {
		fmt.Println("listening")
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			if size > 0 {
				echoBuf(c, size)
			} else {
				io.Copy(c, c)
			}
		}(c)
	}
}

// prefork starts procs children, waits until each listens, prints their
// pids, and stops them on SIGTERM/SIGINT.
func prefork(port, size, procs int) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	var kids []*exec.Cmd
	stopAll := func(code int) {
		for _, k := range kids {
			k.Process.Signal(syscall.SIGTERM)
		}
		for _, k := range kids {
			k.Wait()
		}
		os.Exit(code)
	}
	for i := 0; i < procs; i++ {
		k := exec.Command(os.Args[0], "--port", strconv.Itoa(port), "--buf", strconv.Itoa(size), "--child")
		k.Stderr = os.Stderr
		k.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		out, err := k.StdoutPipe()
		if err == nil {
			err = k.Start()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			stopAll(1)
		}
		kids = append(kids, k)
		if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "listening\n" {
			fmt.Fprintln(os.Stderr, "echo_go: a child failed to listen")
			stopAll(1)
		}
	}
	fmt.Print("ready")
	for _, k := range kids {
		fmt.Printf(" %d", k.Process.Pid)
	}
	fmt.Println()
	<-sigs
	stopAll(0)
}

func main() {
	port := flag.Int("port", 8888, "port")
	size := flag.Int("buf", 0, "copy through a buffer of this size (0: io.Copy)")
	procs := flag.Int("procs", 0, "prefork this many processes sharing the port (SO_REUSEPORT)")
	child := flag.Bool("child", false, "one of --procs' processes (internal)")
	flag.Parse()
	if *procs > 0 {
		prefork(*port, *size, *procs)
	}
	serve(*port, *size, *child)
}
