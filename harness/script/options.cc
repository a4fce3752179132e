#include "script/options.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>

#include <fmt/format.h>

namespace sockspec::script {

namespace {

template <typename T>
std::string bytes_of(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename T>
T value_of(std::string_view bytes) {
  T value{};
  std::memcpy(&value, bytes.data(), std::min(bytes.size(), sizeof value));
  return value;
}

}  // namespace

OptionKind option_kind(long level, long option) {
  if (level != SOL_SOCKET) return OptionKind::kInt;
  switch (option) {
    case SO_RCVTIMEO:
    case SO_SNDTIMEO:
      return OptionKind::kTimeval;
    case SO_LINGER:
      return OptionKind::kLinger;
    case SO_PEERCRED:
      return OptionKind::kUcred;
    default:
      return OptionKind::kInt;
  }
}

const std::vector<std::string_view>& option_fields(OptionKind kind) {
  static const std::vector<std::string_view> none, timeval{"sec", "usec"},
      linger{"onoff", "linger"}, ucred{"pid", "uid", "gid"};
  switch (kind) {
    case OptionKind::kTimeval:
      return timeval;
    case OptionKind::kLinger:
      return linger;
    case OptionKind::kUcred:
      return ucred;
    case OptionKind::kInt:
      break;
  }
  return none;
}

std::size_t option_size(OptionKind kind) {
  switch (kind) {
    case OptionKind::kTimeval:
      return sizeof(timeval);
    case OptionKind::kLinger:
      return sizeof(linger);
    case OptionKind::kUcred:
      return sizeof(ucred);
    case OptionKind::kInt:
      break;
  }
  return sizeof(int);
}

std::string encode_option(OptionKind kind, const std::vector<long>& v) {
  auto at = [&](std::size_t i) { return i < v.size() ? v[i] : 0; };
  switch (kind) {
    case OptionKind::kTimeval:
      return bytes_of(timeval{at(0), at(1)});
    case OptionKind::kLinger:
      return bytes_of(linger{static_cast<int>(at(0)), static_cast<int>(at(1))});
    case OptionKind::kUcred:
      return bytes_of(
          ucred{static_cast<pid_t>(at(0)), static_cast<uid_t>(at(1)), static_cast<gid_t>(at(2))});
    case OptionKind::kInt:
      break;
  }
  return bytes_of(static_cast<int>(at(0)));
}

std::vector<long> decode_option(OptionKind kind, std::string_view bytes) {
  switch (kind) {
    case OptionKind::kTimeval: {
      const auto tv = value_of<timeval>(bytes);
      return {tv.tv_sec, tv.tv_usec};
    }
    case OptionKind::kLinger: {
      const auto l = value_of<linger>(bytes);
      return {l.l_onoff, l.l_linger};
    }
    case OptionKind::kUcred: {
      const auto u = value_of<ucred>(bytes);
      return {u.pid, static_cast<long>(u.uid), static_cast<long>(u.gid)};
    }
    case OptionKind::kInt:
      break;
  }
  return {value_of<int>(bytes)};
}

std::string describe_option(OptionKind kind, std::string_view bytes) {
  const std::vector<long> values = decode_option(kind, bytes);
  if (kind == OptionKind::kInt) return std::to_string(values.at(0));
  std::string text;
  const auto& fields = option_fields(kind);
  for (std::size_t i = 0; i < fields.size(); ++i)
    text += fmt::format("{}{}={}", i ? " " : "", fields[i], values.at(i));
  return "{" + text + "}";
}

}  // namespace sockspec::script
