#!/usr/bin/python3
"""W8 peer: nginx with one worker process serving {root} on 127.0.0.1:{port},
configured as its users would for static files (sendfile, keep-alive, no
access log), in the foreground with its own prefix so nothing under /etc is
touched.  Usage: nginx_server.py --port P --root DIR
"""
import argparse
import os
import tempfile

CONF = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    types {{ image/gif gif; }}
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
    }}
}}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    a = ap.parse_args()
    prefix = tempfile.mkdtemp(prefix="loom-nginx-")
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(prefix=prefix, port=a.port, root=a.root))
    # exec: the wrapper's pid is nginx's master, whose process tree it measures.
    os.execv(a.nginx, [a.nginx, "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log")])


if __name__ == "__main__":
    main()
