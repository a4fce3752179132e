// Removing what a case left in its dir: files, sockets, and mounts. A case that mounts a FUSE
// view (bindfs) in its dir unmounts it itself; one killed at its deadline cannot, and its dir
// cannot be emptied while the mount stays, so whatever is still mounted there is detached.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sockspec {

// The mount points at or under `dir` in this process's mount namespace, deepest first.
std::vector<std::string> mounts_under(const std::filesystem::path& dir);

// Detaches (umount2 MNT_DETACH) every mount under `dir`; returns those it could not.
std::vector<std::string> detach_mounts_under(const std::filesystem::path& dir);

// Removes `dir` and everything in it, detaching any mount found there first. Never throws;
// false when something is left.
bool remove_tree(const std::filesystem::path& dir);

// Removes everything in `dir` but keeps `dir` itself (the same inode: a process's cwd stays
// valid). False when something is left.
bool empty_dir(const std::filesystem::path& dir);

}  // namespace sockspec
