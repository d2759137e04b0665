#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system calls whose spelling differs between Linux (Glibc) and macOS (Darwin), in one place,
/// so the rest of the package builds on both.
///
/// ```swift
/// let before = Platform.fileFingerprint("rules.yaml")
/// getrlimit(Platform.openFilesResource, &limit)
/// ```
package enum Platform {
    /// A file's modification time (seconds and nanoseconds), size and inode, or nil when it cannot be
    /// read: a change in any means the file changed.
    package static func fileFingerprint(_ path: String) -> [Int64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
            let modified = info.st_mtimespec
        #else
            let modified = info.st_mtim
        #endif
        return [Int64(modified.tv_sec), Int64(modified.tv_nsec), Int64(info.st_size), Int64(info.st_ino)]
    }

    /// `RLIMIT_NOFILE` as `getrlimit` and `setrlimit` take it.
    package static var openFilesResource: Int32 {
        #if canImport(Darwin)
            RLIMIT_NOFILE
        #else
            Int32(RLIMIT_NOFILE.rawValue)
        #endif
    }
}
