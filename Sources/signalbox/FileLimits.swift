import Foundation
import Logging
import SignalboxServer

/// The process's open-file limit, which bounds how many connections the listener can hold.
enum FileLimits {
    /// Descriptors kept for what is not a connection: the database files, the broker connection,
    /// outgoing HTTP.
    static let reserve = 256

    /// Raises the soft limit on open files (up to the hard limit) so that `limits.maxConnections`, the
    /// health-check allowance and ``reserve`` fit; warns when they cannot.
    static func raise(toFit limits: ListenerLimits, logger: Logger) {
        let needed = rlim_t(limits.maxConnections + limits.overflowConnections + reserve)
        var current = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &current) == 0 else { return }
        if current.rlim_cur >= needed { return }
        var raised = current
        raised.rlim_cur = min(needed, current.rlim_max)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { current = raised }
        if current.rlim_cur < needed {
            logger.warning(
                "open-file limit below what --max-connections needs: connections past it are refused by the kernel",
                metadata: [
                    "limit.files": "\(current.rlim_cur)", "limit.needed": "\(needed)",
                    "limit.max_connections": "\(limits.maxConnections)",
                ])
        }
    }
}
