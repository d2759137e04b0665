import Logging
import ServiceLifecycle
import SignalboxCore
import UnixSignals

/// Reloads the rules on `SIGHUP` and, when `watching`, when the file changes (checked every
/// `interval`).
package struct RulesReloader: Service {
    let runtime: RulesRuntime
    let path: String
    let watching: Bool
    let interval: Duration
    let logger: Logger

    /// A reloader of `runtime` from the file at `path`.
    package init(
        runtime: RulesRuntime, path: String, watching: Bool = true, interval: Duration = .seconds(1), logger: Logger
    ) {
        self.runtime = runtime
        self.path = path
        self.watching = watching
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals {
                    logger.notice("SIGHUP: reloading the rules")
                    _ = await runtime.reload()
                }
            }
            if watching {
                group.addTask {
                    var last = Platform.fileFingerprint(path)
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        let now = Platform.fileFingerprint(path)
                        if now != last {
                            last = now
                            logger.notice("the rules file changed: reloading")
                            _ = await runtime.reloadIfChanged()
                        }
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}
