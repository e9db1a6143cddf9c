// W8 peer: Go's net/http serving a directory with http.FileServer, the way
// Go users serve static files.  --port P --root DIR.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
)

func main() {
	port := flag.Int("port", 8080, "port")
	root := flag.String("root", ".", "document root")
	flag.Parse()
	addr := fmt.Sprintf("127.0.0.1:%d", *port)
	log.Fatal(http.ListenAndServe(addr, http.FileServer(http.Dir(*root))))
}
