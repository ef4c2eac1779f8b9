/* Node-API binding: update(state, bytes) advances a CRC-64/XZ register held by the caller as a
 * Uint32Array [lo, hi] (no allocation per call); updatePortable does the same with the table code
 * only, so tests can check it on CPUs that take the carry-less path. */
#define NAPI_VERSION 8
#include <node_api.h>

#include "crc64.h"

typedef uint64_t (*update_fn)(uint64_t, const uint8_t *, size_t);

static size_t element_size(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;
  }
}

static napi_value run(napi_env env, napi_callback_info info, update_fn update) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  bool is_typed[2] = {false, false};
  if (argc == 2) {
    napi_is_typedarray(env, argv[0], &is_typed[0]);
    napi_is_typedarray(env, argv[1], &is_typed[1]);
  }
  if (!is_typed[0] || !is_typed[1]) {
    napi_throw_type_error(env, NULL, "update(state: Uint32Array(2), bytes: Uint8Array)");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *state_data;
  napi_get_typedarray_info(env, argv[0], &type, &length, &state_data, NULL, NULL);
  if (type != napi_uint32_array || length < 2) {
    napi_throw_type_error(env, NULL, "state must be a Uint32Array [lo, hi]");
    return NULL;
  }
  void *bytes;
  napi_get_typedarray_info(env, argv[1], &type, &length, &bytes, NULL, NULL);
  uint32_t *state = state_data;
  uint64_t crc = (uint64_t)state[1] << 32 | state[0];
  if (length > 0) crc = update(crc, bytes, length * element_size(type));
  state[0] = (uint32_t)crc;
  state[1] = (uint32_t)(crc >> 32);
  return NULL;
}

static napi_value Update(napi_env env, napi_callback_info info) { return run(env, info, crc64_update); }

static napi_value UpdatePortable(napi_env env, napi_callback_info info) {
  return run(env, info, crc64_update_table);
}

NAPI_MODULE_INIT() {
  crc64_init();
  napi_value update, update_portable, kernel;
  if (napi_create_function(env, "update", NAPI_AUTO_LENGTH, Update, NULL, &update) != napi_ok ||
      napi_create_function(env, "updatePortable", NAPI_AUTO_LENGTH, UpdatePortable, NULL, &update_portable) != napi_ok ||
      napi_create_string_utf8(env, crc64_kernel(), NAPI_AUTO_LENGTH, &kernel) != napi_ok ||
      napi_set_named_property(env, exports, "update", update) != napi_ok ||
      napi_set_named_property(env, exports, "updatePortable", update_portable) != napi_ok ||
      napi_set_named_property(env, exports, "kernel", kernel) != napi_ok)
    return NULL;
  return exports;
}
