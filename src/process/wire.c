/* wire.c - small blocking i/o helpers shared by the pool, its workers and
 * the multiprocessing objects: full writes, sending a descriptor along with
 * bytes, and memfd shared-memory payloads.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc_internal.h"

int loom__write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void loom__msg_attach_fd(struct msghdr *mh, char *cbuf, size_t cbuf_len, int fd) {
  memset(cbuf, 0, cbuf_len);
  mh->msg_control = cbuf;
  mh->msg_controllen = cbuf_len;
  struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
}

int loom__send_with_fd(int sock, const void *buf, size_t len, int fd) {
  if (fd < 0) return loom__write_all(sock, buf, len);
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  loom__msg_attach_fd(&mh, cbuf, sizeof cbuf, fd);
  ssize_t n;
  do {
    n = sendmsg(sock, &mh, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  /* The descriptor went with the first byte; the rest is plain data. */
  return (size_t)n < len ? loom__write_all(sock, (const char *)buf + n, len - (size_t)n) : 0;
}

int loom__memfd_from(const void *data, size_t len) {
  if (loom__sys_fault(EMFILE)) return -EMFILE;
  int fd = memfd_create("loom-payload", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = loom__write_all(fd, data, len);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  return fd;
}

static char empty_payload[1];

void *loom__memfd_map(int fd, size_t len) {
  if (len == 0) return empty_payload;
  void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? NULL : p;
}

void loom__memfd_unmap(void *p, size_t len) {
  if (len && p && p != empty_payload) munmap(p, len);
}
