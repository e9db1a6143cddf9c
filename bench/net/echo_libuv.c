/* W5 peer: a TCP echo server on libuv, written the way libuv's own
 * examples and users write it: uv_listen, uv_read_start with an allocator,
 * uv_write of each buffer read, freed in the write callback.  --port P.
 */
#include <uv.h>

#include "../common.h"

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
} write_req;

static uv_loop_t *loop;

static void alloc_buf(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void on_close(uv_handle_t *h) { free(h); }

static void on_written(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  free(w->buf.base);
  free(w);
}

static void on_read(uv_stream_t *client, ssize_t nread, const uv_buf_t *buf) {
  if (nread > 0) {
    write_req *w = malloc(sizeof *w);
    if (w) {
      w->buf = uv_buf_init(buf->base, (unsigned)nread);
      uv_write(&w->req, client, &w->buf, 1, on_written);
      return;
    }
  }
  if (nread < 0) uv_close((uv_handle_t *)client, on_close);
  free(buf->base);
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) return;
  uv_tcp_t *client = malloc(sizeof *client);
  if (!client) return;
  uv_tcp_init(loop, client);
  if (uv_accept(server, (uv_stream_t *)client) == 0) {
    uv_tcp_nodelay(client, 1);
    uv_read_start((uv_stream_t *)client, alloc_buf, on_read);
  } else {
    uv_close((uv_handle_t *)client, on_close);
  }
}

int main(int argc, char **argv) {
  int port = (int)bench_arg(argc, argv, "--port", 8888);
  loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&server, 1024, on_connection);
  if (rc) {
    fprintf(stderr, "echo_libuv: %s\n", uv_strerror(rc));
    return 1;
  }
  return uv_run(loop, UV_RUN_DEFAULT);
}
