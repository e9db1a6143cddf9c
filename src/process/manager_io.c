/* manager_io.c - the parent's byte streams to and from one worker: job
 * messages appended to an output buffer (large bytes arguments go as a memfd
 * attached at their offset in the stream), non-blocking flushes, and the
 * input buffer of RESULT messages with the descriptors that came along.
 * Only the manager thread calls these.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool_internal.h"

static int out_reserve(pworker *w, size_t n) {
  if (w->out_pos && w->out_pos == w->out_len) w->out_pos = w->out_len = 0;
  if (w->out_len + n <= w->out_cap) return 0;
  if (w->out_pos > w->out_cap / 2) { /* slide the unsent part down */
    memmove(w->out, w->out + w->out_pos, w->out_len - w->out_pos);
    for (unsigned i = w->ofd_head; i != w->ofd_tail; i++) w->ofd[i % 32].at -= w->out_pos;
    w->out_len -= w->out_pos;
    w->out_pos = 0;
    if (w->out_len + n <= w->out_cap) return 0;
  }
  size_t cap = w->out_cap ? w->out_cap : 65536;
  while (cap < w->out_len + n) cap *= 2;
  char *nb = loom__realloc(w->out, cap);
  if (!nb) return LOOM_ENOMEM;
  w->out = nb;
  w->out_cap = cap;
  return 0;
}

int loom__pw_queue_msg(pworker *w, const loom__msg *h, const void *text) {
  size_t total = loom__msg_total(h); /* no payload in parent-to-worker control messages */
  int rc = out_reserve(w, total);
  if (rc < 0) return rc;
  memset(w->out + w->out_len, 0, total);
  memcpy(w->out + w->out_len, h, sizeof *h);
  if (h->name_len) memcpy(w->out + w->out_len + sizeof *h, text, h->name_len);
  w->out_len += total;
  return 0;
}

int loom__pw_queue_job(pworker *w, loom_future *f) {
  const char *name;
  loom__msg h = {.type = LOOM__MSG_JOB, .id = (uint64_t)(uintptr_t)f};
  int rc = loom__fn_encode((const void *)f->fn, &name, &h.fn_off);
  if (rc < 0) return rc;
  h.name_len = (uint32_t)strlen(name);
  bool bytes = f->producer_data & 1;
  h.flags = bytes ? LOOM__F_BYTES : 0;
  h.len = bytes ? f->arg_size : 0;
  h.arg = bytes ? 0 : (uint64_t)(uintptr_t)f->arg;
  int fd = -1;
  if (bytes && h.len >= LOOM__MEMFD_MIN && w->ofd_tail - w->ofd_head < 32) {
    fd = loom__memfd_from(f->arg, h.len);
    if (fd >= 0) h.flags |= LOOM__F_MEMFD;
  }
  size_t inl = (h.flags & LOOM__F_MEMFD) ? 0 : h.len, total = loom__msg_total(&h);
  rc = out_reserve(w, total);
  if (rc < 0) {
    if (fd >= 0) close(fd);
    return rc;
  }
  if (fd >= 0) {
    w->ofd[w->ofd_tail % 32].at = w->out_len;
    w->ofd[w->ofd_tail % 32].fd = fd;
    w->ofd_tail++;
  }
  memcpy(w->out + w->out_len, &h, sizeof h);
  w->out_len += sizeof h;
  memcpy(w->out + w->out_len, name, h.name_len);
  w->out_len += h.name_len;
  if (inl) memcpy(w->out + w->out_len, f->arg, inl);
  w->out_len += inl;
  size_t pad = total - sizeof h - h.name_len - inl;
  memset(w->out + w->out_len, 0, pad);
  w->out_len += pad;
  return 0;
}

/* Send [out_pos, end) with `fd` attached to its first byte (fd < 0: none). */
static ssize_t send_part(pworker *w, size_t end, int fd) {
  struct iovec iov = {.iov_base = w->out + w->out_pos, .iov_len = end - w->out_pos};
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) loom__msg_attach_fd(&mh, cbuf, sizeof cbuf, fd);
  ssize_t n;
  do {
    n = sendmsg(w->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n;
}

int loom__pw_flush(pworker *w) {
  while (w->out_pos < w->out_len) {
    size_t end = w->out_len;
    int fd = -1;
    if (w->ofd_head != w->ofd_tail) {
      size_t at = w->ofd[w->ofd_head % 32].at;
      if (at == w->out_pos) fd = w->ofd[w->ofd_head % 32].fd;
      else end = at;
    }
    ssize_t n = send_part(w, end, fd);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
      return -errno;
    }
    if (fd >= 0) { /* the descriptor went with the first byte */
      close(fd);
      w->ofd_head++;
    }
    w->out_pos += (size_t)n;
  }
  w->out_pos = w->out_len = 0;
  return 0;
}

int loom__pw_read(pworker *w) {
  if (w->in_pos) {
    memmove(w->in, w->in + w->in_pos, w->in_len - w->in_pos);
    w->in_len -= w->in_pos;
    w->in_pos = 0;
  }
  if (w->in_cap - w->in_len < 65536) {
    size_t cap = w->in_cap ? w->in_cap * 2 : 262144;
    char *nb = loom__realloc(w->in, cap);
    if (!nb) return LOOM_ENOMEM;
    w->in = nb;
    w->in_cap = cap;
  }
  char cbuf[CMSG_SPACE(sizeof(int) * 16)];
  struct iovec iov = {.iov_base = w->in + w->in_len, .iov_len = w->in_cap - w->in_len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                      .msg_controllen = sizeof cbuf};
  ssize_t n;
  do {
    n = recvmsg(w->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? LOOM_EAGAIN : -errno;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      if (w->ifd_tail - w->ifd_head < 64) w->ifd[w->ifd_tail++ % 64] = fd;
      else close(fd);
    }
  }
  w->in_len += (size_t)n;
  w->rx_total += (uint64_t)n;
  return (int)(n > 0 ? 1 : 0);
}

const loom__msg *loom__pw_next(pworker *w, size_t *total) {
  size_t avail = w->in_len - w->in_pos;
  if (avail < sizeof(loom__msg)) return NULL;
  loom__msg h;
  memcpy(&h, w->in + w->in_pos, sizeof h);
  size_t t = loom__msg_total(&h);
  if (avail < t) {
    if (w->in_cap < t + 65536 + w->in_pos) {
      char *nb = loom__realloc(w->in, t + 65536 + w->in_pos);
      if (nb) {
        w->in = nb;
        w->in_cap = t + 65536 + w->in_pos;
      }
    }
    return NULL;
  }
  *total = t;
  return (const loom__msg *)(w->in + w->in_pos);
}

void loom__pw_consume(pworker *w, size_t total) {
  w->in_pos += total;
  if (w->in_pos == w->in_len) w->in_pos = w->in_len = 0;
}

int loom__pw_take_fd(pworker *w) {
  return w->ifd_head != w->ifd_tail ? w->ifd[w->ifd_head++ % 64] : -1;
}

void loom__pw_free_buffers(pworker *w) {
  while (w->ofd_head != w->ofd_tail) close(w->ofd[w->ofd_head++ % 32].fd);
  while (w->ifd_head != w->ifd_tail) close(w->ifd[w->ifd_head++ % 64]);
  loom__free(w->out);
  loom__free(w->in);
  w->out = w->in = NULL;
  w->out_pos = w->out_len = w->out_cap = w->in_pos = w->in_len = w->in_cap = 0;
}

int loom__pw_append(pworker *w, const void *data, size_t len) {
  if (w->in_cap - w->in_len < len) {
    char *nb = loom__realloc(w->in, w->in_len + len);
    if (!nb) return LOOM_ENOMEM;
    w->in = nb;
    w->in_cap = w->in_len + len;
  }
  memcpy(w->in + w->in_len, data, len);
  w->in_len += len;
  w->rx_total += len;
  return 0;
}
