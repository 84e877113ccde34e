// sluice::Status → grpc::Status: the code maps one to one, the message (which names the
// offending field) passes unchanged.
#pragma once

#include <grpcpp/support/status.h>

#include "datapath/status.h"

namespace sluice::api {

inline grpc::StatusCode to_grpc_code(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case StatusCode::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case StatusCode::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case StatusCode::kFailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case StatusCode::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case StatusCode::kInternal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

inline grpc::Status to_grpc(const Status& st) {
  if (st.is_ok()) return grpc::Status::OK;
  return grpc::Status(to_grpc_code(st.code()), st.message());
}

inline grpc::Status grpc_invalid(const std::string& m) { return {grpc::StatusCode::INVALID_ARGUMENT, m}; }
inline grpc::Status grpc_not_found(const std::string& m) { return {grpc::StatusCode::NOT_FOUND, m}; }

}  // namespace sluice::api
