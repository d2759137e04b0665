import Foundation
import Logging
import SignalboxCore
import SignalboxServer

/// The process's open-file limit, which bounds how many connections the listener can hold.
enum FileLimits {
    /// Descriptors kept for what is not a connection: the database files, the broker connection,
    /// outgoing HTTP.
    static let reserve = 256

    /// Raises the soft limit on open files (up to the hard limit) so that `limits.maxConnections`, the
    /// health-check allowance and ``reserve`` fit; when they cannot, returns `limits` with fewer
    /// connections, so that the listener refuses connections before the process runs out of
    /// descriptors for its files, and warns.
    static func raise(toFit limits: ListenerLimits, logger: Logger) -> ListenerLimits {
        let needed = rlim_t(limits.maxConnections + limits.overflowConnections + reserve)
        var current = rlimit()
        guard getrlimit(Platform.openFilesResource, &current) == 0 else { return limits }
        if current.rlim_cur >= needed { return limits }
        var raised = current
        raised.rlim_cur = min(needed, current.rlim_max)
        if setrlimit(Platform.openFilesResource, &raised) == 0 { current = raised }
        guard current.rlim_cur < needed else { return limits }
        var fitted = limits
        // n + max(16, n/32) + reserve <= files, solved for n.
        let available = max(0, Int(current.rlim_cur) - reserve)
        fitted.maxConnections = max(1, min(available - 16, available * 32 / 33))
        logger.warning(
            "open-file limit too low for --max-connections: fewer connections are served",
            metadata: [
                "limit.files": "\(current.rlim_cur)", "limit.max_connections": "\(limits.maxConnections)",
                "limit.served": "\(fitted.maxConnections)",
            ])
        return fitted
    }
}
