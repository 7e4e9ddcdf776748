/*
 * attestd - NVIDIA GPU evidence helpers for the request layer: the
 * evidence list that NVIDIA's attestation SDK and nvtrust produce, and
 * the GPU count a policy requires (docs/platforms/nvidia-gpu.md).
 */
#ifndef AV_NVGPU_H
#define AV_NVGPU_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "av/err.h"

struct av_policy;

/*
 * Whether v looks like an SDK evidence list: a non-empty array whose
 * every element is an object with string "evidence" and "certificate"
 * members.  Sniff only.
 */
bool	av_nvgpu_is_sdk_list(const json_t *v);

/*
 * Expand an SDK evidence list [{"arch", "certificate" (base64 of the PEM
 * chain), "evidence" (base64 report), "nonce", ...}, ...] into request
 * items, one per GPU and in order:
 *   {"type": "nvidia-gpu", "data": <evidence>, "cert_chain": <PEM>,
 *    "arch": <arch>}   ("arch" only when given).
 * Other members ("nonce", "driver_version", "vbios_version", "version")
 * are not carried: the report itself holds what they claim.  At most
 * AV_MAX_ITEMS entries.  The caller keeps its reference to list.
 * Returns 0 and *items_out (a new JSON array), or -1 with e
 * (AV_E_BAD_REQUEST, AV_E_NOMEM).
 */
AV_MUST_USE int av_nvgpu_expand_sdk_list(const json_t *list,
    json_t **items_out, struct av_err *e);

/*
 * The number of GPUs the policy's "nvidia-gpu" section requires
 * ("count"), or -1 when the policy (may be NULL) states none.  A
 * request-level rule: the caller counts the nvidia-gpu submods.
 */
int64_t	av_nvgpu_policy_count(const struct av_policy *pol);

#endif
