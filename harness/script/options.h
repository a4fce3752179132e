// Socket options whose value is not an int, and how their values are written in a script:
//   SO_RCVTIMEO, SO_SNDTIMEO   {sec=1 usec=500000}        struct timeval
//   SO_LINGER                  {onoff=1 linger=5}          struct linger
//   SO_PEERCRED                {pid=server uid=0 gid=0}    struct ucred (pid= may name an actor)
// Every other option is an int. getsockopt's value is compared field by field (a field not
// written is not compared); setsockopt's is encoded here, so the actor passes bytes only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sockspec::script {

enum class OptionKind { kInt, kTimeval, kLinger, kUcred };

OptionKind option_kind(long level, long option);
// The fields of a struct kind, in the struct's order ("sec", "usec"); empty for kInt.
const std::vector<std::string_view>& option_fields(OptionKind kind);
// The size getsockopt() is given for the option's value.
std::size_t option_size(OptionKind kind);
// The bytes of a value (fields in option_fields() order), and back.
std::string encode_option(OptionKind kind, const std::vector<long>& values);
std::vector<long> decode_option(OptionKind kind, std::string_view bytes);
// "{sec=1 usec=500000}", or the int.
std::string describe_option(OptionKind kind, std::string_view bytes);

}  // namespace sockspec::script
