/* error.c - messages and names for loom's error codes (see loom/error.h). */
#include <string.h>

#include "internal.h"

const char *loom_strerror(int code) {
  if (code == 0) return "success";
  switch (code) {
#define LOOM__OWN_MSG(name, val, msg) case val: return msg;
    LOOM_OWN_ERRNO_MAP(LOOM__OWN_MSG)
#undef LOOM__OWN_MSG
  default: break;
  }
  if (code < 0 && code > -4000) {
    /* strerrordesc_np is thread-safe and returns static strings. */
    const char *s = strerrordesc_np(-code);
    if (s) return s;
  }
  return "unknown error";
}

const char *loom_err_name(int code) {
  if (code == 0) return "OK";
  switch (code) {
#define LOOM__OWN_NAME(name, val, msg) case val: return #name;
    LOOM_OWN_ERRNO_MAP(LOOM__OWN_NAME)
#undef LOOM__OWN_NAME
  default: break;
  }
  if (code < 0 && code > -4000) {
    const char *s = strerrorname_np(-code);
    if (s) return s;
  }
  return "EUNKNOWN";
}
