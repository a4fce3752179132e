// The names a script may use for numbers: AF_UNIX, MSG_DONTWAIT, SO_SNDBUF, SIGPIPE, ...
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sockspec::script {

std::optional<long> constant_value(std::string_view name);
// Close names for an error message ("MSG_DONTWAT" -> "MSG_DONTWAIT").
std::string nearest_constant(std::string_view name);
std::optional<int> errno_value(std::string_view name);
std::optional<int> signal_value(std::string_view name);
// "POLLIN|POLLOUT" for poll's revents.
std::string poll_events_name(int events);

}  // namespace sockspec::script
