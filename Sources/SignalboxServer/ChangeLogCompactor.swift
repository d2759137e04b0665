import Logging
import ServiceLifecycle
import SignalboxCore

/// Keeps the shadow change log bounded: compacts it every `interval` until graceful shutdown.
package struct ChangeLogCompactor: Service {
    /// The store compacted.
    package let storage: any ShadowChangeLogCompaction
    /// Time between compactions.
    package let interval: Duration
    /// The newest entries always kept.
    package let keepRecent: Int64
    private let logger: Logger

    /// Creates the compactor.
    package init(
        storage: any ShadowChangeLogCompaction, interval: Duration = .seconds(60), keepRecent: Int64 = 100_000,
        logger: Logger = Logger(label: "signalbox.store")
    ) {
        self.storage = storage
        self.interval = interval
        self.keepRecent = keepRecent
        self.logger = logger
    }

    package func run() async throws {
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutting down
            }
            do {
                let removed = try await storage.compactChangeLog(keepRecent: keepRecent)
                if removed > 0 { logger.debug("change log compacted", metadata: ["store.removed": "\(removed)"]) }
            } catch {
                logger.error("change log compaction failed", metadata: ["error": "\(String(describing: error))"])
            }
        }
    }
}
