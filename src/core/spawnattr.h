/* spawnattr.h - the posix_spawn attributes every child loom starts gets.
 *
 * Subprocesses (src/subprocess) and process-pool workers (src/process) are
 * both started with posix_spawn.  A child must start with no blocked signals
 * and default dispositions, as a freshly exec'd program expects, whatever
 * the parent's loop installed (signal watches block signals and route them
 * through a signalfd or a handler). */
#ifndef LOOM_CORE_SPAWNATTR_H
#define LOOM_CORE_SPAWNATTR_H

#include <signal.h>
#include <spawn.h>

/* Initialise *at (destroy it with posix_spawnattr_destroy) with an empty
 * signal mask and every signal's disposition reset to the default. */
static inline void loom__spawnattr_init_clean(posix_spawnattr_t *at) {
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_init(at);
  posix_spawnattr_setsigmask(at, &none);
  posix_spawnattr_setsigdefault(at, &all);
  posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

#endif /* LOOM_CORE_SPAWNATTR_H */
