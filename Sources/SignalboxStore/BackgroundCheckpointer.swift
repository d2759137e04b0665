import Dispatch
import GRDB
import Synchronization

/// Copies WAL frames into the database file on its own connection and thread, so the writer's
/// automatic checkpoint (which stalls every commit behind it) finds almost nothing left to do.
///
/// The writer calls ``nudge()`` after each commit; a passive checkpoint starts unless one is running
/// or one started less than ``minimumInterval`` ago. Passive checkpoints never block the writer or
/// readers. The writer's own automatic checkpoint stays as the backstop that resets the WAL.
final class BackgroundCheckpointer: Sendable {
    private struct State {
        var running = false
        var lastStart = ContinuousClock.now - .seconds(3_600)
    }

    private let connection: DatabaseQueue
    private let queue = DispatchQueue(label: "signalbox.checkpoint", qos: .utility)
    private let state = Mutex(State())
    /// The least time between two checkpoints' starts.
    let minimumInterval: Duration

    /// Opens a connection for checkpoints to the database at `path`.
    init(path: String, minimumInterval: Duration = .milliseconds(100)) throws {
        var configuration = Configuration()
        configuration.label = "signalbox.checkpoint"
        configuration.busyMode = .immediateError
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.minimumInterval = minimumInterval
    }

    /// Starts a passive checkpoint in the background unless one is running or started recently.
    func nudge() {
        let now = ContinuousClock.now
        let start = state.withLock { state -> Bool in
            guard !state.running, now - state.lastStart >= minimumInterval else { return false }
            state.running = true
            state.lastStart = now
            return true
        }
        guard start else { return }
        queue.async {
            // Busy (the writer is checkpointing itself) or failing: the writer's checkpoint covers it.
            _ = try? self.connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            self.state.withLock { $0.running = false }
        }
    }
}
