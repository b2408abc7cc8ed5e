// weft_shared_memory: memory the agent and its engine workers share, for the limits Envoy keeps once per proxy
// (circuit breakers). Node can neither create a memfd nor map one.
//   create(bytes) -> fd      a memfd of that size (close-on-exec; the agent passes it to each worker as an stdio fd)
//   map(fd, bytes) -> ArrayBuffer   the memory, MAP_SHARED; unmapped when the buffer is collected
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int args(napi_env env, napi_callback_info info, size_t want, int64_t *out) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return -1;
  for (size_t i = 0; i < want; i++)
    if (napi_get_value_int64(env, argv[i], &out[i]) != napi_ok || out[i] < 0) return -1;
  return 0;
}

static napi_value create(napi_env env, napi_callback_info info) {
  int64_t a[1];
  if (args(env, info, 1, a) != 0 || a[0] == 0) {
    napi_throw_type_error(env, NULL, "create(bytes): bytes must be a positive integer");
    return NULL;
  }
  int fd = memfd_create("weft-limits", MFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "memfd_create", errno);
  if (ftruncate(fd, (off_t)a[0]) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "ftruncate", err);
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)hint);
}

static napi_value map(napi_env env, napi_callback_info info) {
  int64_t a[2];
  if (args(env, info, 2, a) != 0 || a[1] == 0) {
    napi_throw_type_error(env, NULL, "map(fd, bytes): fd and bytes must be non-negative integers");
    return NULL;
  }
  void *p = mmap(NULL, (size_t)a[1], PROT_READ | PROT_WRITE, MAP_SHARED, (int)a[0], 0);
  if (p == MAP_FAILED) return throw_errno(env, "mmap", errno);
  napi_value buf;
  if (napi_create_external_arraybuffer(env, p, (size_t)a[1], unmap, (void *)(size_t)a[1], &buf) != napi_ok) {
    munmap(p, (size_t)a[1]);
    napi_throw_error(env, NULL, "napi_create_external_arraybuffer failed");
    return NULL;
  }
  return buf;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "create", NAPI_AUTO_LENGTH, create, NULL, &fn);
  napi_set_named_property(env, exports, "create", fn);
  napi_create_function(env, "map", NAPI_AUTO_LENGTH, map, NULL, &fn);
  napi_set_named_property(env, exports, "map", fn);
  return exports;
}
