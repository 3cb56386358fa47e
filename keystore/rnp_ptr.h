// unique_ptr aliases for the librnp handles the in-process encryptor holds, so
// no path (error returns included) leaks an ffi, stream, operation or key.
// Only keystore/rnp_*.cpp include this: <rnp/rnp.h> stays out of public headers.
#pragma once

#include <rnp/rnp.h>
#include <rnp/rnp_err.h>

#include <memory>
#include <string>
#include <type_traits>

namespace sealpost::rnp {

// rnp handles are pointers to opaque structs; the deleter takes the handle type.
template <class Handle, rnp_result_t (*Destroy)(Handle)>
struct Deleter {
  void operator()(Handle h) const { Destroy(h); }
};
template <class Handle, rnp_result_t (*Destroy)(Handle)>
using Ptr = std::unique_ptr<std::remove_pointer_t<Handle>, Deleter<Handle, Destroy>>;

using FfiPtr = Ptr<rnp_ffi_t, rnp_ffi_destroy>;
using InputPtr = Ptr<rnp_input_t, rnp_input_destroy>;
using OutputPtr = Ptr<rnp_output_t, rnp_output_destroy>;
using EncryptPtr = Ptr<rnp_op_encrypt_t, rnp_op_encrypt_destroy>;
using KeyPtr = Ptr<rnp_key_handle_t, rnp_key_handle_destroy>;

// "what: rnp error text" for Error reasons and logs.
inline std::string describe(const char* what, rnp_result_t r) {
  return std::string(what) + ": " + rnp_result_to_string(r);
}

}  // namespace sealpost::rnp
