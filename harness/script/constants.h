// The names a script may use for numbers: AF_UNIX, MSG_DONTWAIT, SO_SNDBUF, SIGPIPE, ...
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec::script {

std::optional<long> constant_value(std::string_view name);
// The closest of `names` to a misspelt `name` ("MSG_DONTWAT" -> "MSG_DONTWAIT"), or "" when
// none is within three edits; for "did you mean" in error messages.
std::string nearest_name(std::string_view name, const std::vector<std::string_view>& names);
std::string nearest_constant(std::string_view name);
std::string nearest_errno(std::string_view name);
std::optional<int> errno_value(std::string_view name);
std::optional<int> signal_value(std::string_view name);
// "POLLIN|POLLOUT" for poll's revents (prefix "POLL"), "EPOLLIN|EPOLLHUP" for epoll's events
// (prefix "EPOLL").
std::string events_name(int events, std::string_view prefix);
// "S_IFSOCK|0777": an st_mode as its file type and permission bits.
std::string file_mode_name(long mode);

}  // namespace sockspec::script
