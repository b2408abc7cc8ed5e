// weft_malloc_trim: gives the C heap's free pages back to the OS (glibc's malloc_trim), which Node can't ask for.
// Bodies streamed through the engine pass through 64 KiB socket reads that glibc serves from its heap; once they are
// freed it keeps the pages (it returns only the heap's top), so an engine that took a burst of uploads stayed large.
//   trim() -> boolean   whether any memory was released
#include <node_api.h>
#include <malloc.h>

static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_get_boolean(env, malloc_trim(0) == 1, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn);
  napi_set_named_property(env, exports, "trim", fn);
  return exports;
}
