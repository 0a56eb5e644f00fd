/* The C ABI of r2q's deployment backend plugins (DESIGN §6, issue 18), in the manner of ggml's dynamically
 * loaded backends. A plugin is a shared library named libr2q-backend-NAME.so that exports one symbol,
 * r2q_backend_init, returning a table of functions. Nothing but C types crosses: no C++ exceptions, no STL.
 * The model crosses as the bytes of a checksummed .r2q file (docs/EXPORT_FORMAT.md), a stable format; errors
 * as a status and a message in a buffer of the caller's. The host (backends/plugin/plugin_backend.cpp) finds
 * plugins beside its executable and in R2Q_BACKEND_PATH, refuses a wrong API version with the reason, and
 * wraps each in backends::Backend, so `r2q backends`, `r2q bench` and eval.backend use it like a built-in
 * one. backends/plugin/plugin_export.h turns a C++ backends::Backend into this table for plugin authors. */
#ifndef R2Q_BACKEND_PLUGIN_H
#define R2Q_BACKEND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any change to the table below; a host and a plugin agree on one exact version. */
#define R2Q_BACKEND_API_VERSION 1u
#define R2Q_BACKEND_INIT_SYMBOL "r2q_backend_init"

typedef enum r2q_status {
  R2Q_STATUS_OK = 0,
  R2Q_STATUS_BAD_INPUT = 1,   /* the model, the input or an option is wrong (the host: InputError, exit 2) */
  R2Q_STATUS_UNAVAILABLE = 2, /* cannot run on this machine: no driver, no device (InputError) */
  R2Q_STATUS_FAILED = 3,      /* the device failed: out of memory, a kernel error (RunError, exit 1) */
  R2Q_STATUS_TOO_SMALL = 4    /* an output buffer is too small: *needed says how large it must be */
} r2q_status;

/* Where a function writes its error message (truncated to size - 1 bytes, always terminated). */
typedef struct r2q_message {
  char* text;
  size_t size;
} r2q_message;

typedef struct r2q_plan r2q_plan; /* opaque: a model planned on one engine */

typedef struct r2q_backend_v1 {
  uint32_t api_version; /* R2Q_BACKEND_API_VERSION of the plugin's build */
  const char* name;     /* "cuda"; static storage */

  /* OK when the backend can run here, else UNAVAILABLE and the reason in *why. */
  r2q_status (*available)(r2q_message* why);
  /* The device as JSON {"name", "description", "features": [...], "threads"}, and the engines as JSON
   * ["default", "other", ...], into out[size] (TOO_SMALL and *needed, the length + 1, when it does not fit).
   */
  r2q_status (*device_json)(char* out, size_t size, size_t* needed);
  r2q_status (*engines_json)(char* out, size_t size, size_t* needed);
  /* OK when the backend can run layer `layer` of the model, else BAD_INPUT and why. */
  r2q_status (*supports)(const uint8_t* model, size_t model_size, size_t layer, r2q_message* why);

  /* Plans the model (all weight packing) for `engine` with `threads`; *plan is destroyed with destroy(). */
  r2q_status (*plan)(const uint8_t* model, size_t model_size, const char* engine, const char* isa,
                     int threads, r2q_plan** plan, r2q_message* error);
  void (*destroy)(r2q_plan* plan);
  /* Runs n images (float32 [n, C, H, W], the model's input shape) and writes the logits, float32
   * [n, classes], into logits[size]. */
  r2q_status (*run)(r2q_plan* plan, const float* input, int64_t n, float* logits, size_t size,
                    r2q_message* error);
  /* Runs like run() and keeps every integer conv/linear layer's int32 accumulators, [n, O, OH, OW], for
   * accumulators() (tests: the accumulators equal the reference's bit for bit). */
  r2q_status (*run_keeping_accumulators)(r2q_plan* plan, const float* input, int64_t n, float* logits,
                                         size_t size, r2q_message* error);
  r2q_status (*accumulators)(r2q_plan* plan, size_t layer, int32_t* out, size_t size, size_t* needed);
  /* {"engine": "...", "weight_bytes": N, "layer_paths": ["...", ...]}, as device_json. */
  r2q_status (*plan_json)(r2q_plan* plan, char* out, size_t size, size_t* needed);
  /* Per-layer wall times of the runs while on (r2q bench); layer_seconds() writes the last run's. */
  r2q_status (*set_profiling)(r2q_plan* plan, int on);
  r2q_status (*layer_seconds)(r2q_plan* plan, double* out, size_t count);
} r2q_backend_v1;

/* What every plugin exports under R2Q_BACKEND_INIT_SYMBOL. host_api_version is the host's
 * R2Q_BACKEND_API_VERSION; a plugin returns its table (the host checks the table's api_version), or NULL when
 * it cannot initialise at all. */
typedef const r2q_backend_v1* (*r2q_backend_init_fn)(uint32_t host_api_version);

#ifdef __cplusplus
}
#endif

#endif /* R2Q_BACKEND_PLUGIN_H */
