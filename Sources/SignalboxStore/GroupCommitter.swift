import GRDB
import Synchronization

/// One piece of work for a ``GroupCommitter``: done inside a shared write transaction, then told
/// how the transaction ended.
protocol GroupCommitJob: AnyObject, Sendable {
    /// Does the work inside the batch's transaction. Throwing aborts the whole batch: throw only
    /// for database errors, and keep a job's own failures for ``complete(with:)``.
    func perform(_ db: Database) throws

    /// Reports the outcome once the transaction has committed (`nil`) or rolled back (its error).
    func complete(with error: (any Error)?)
}

/// Group commit: concurrent writers' jobs are queued and applied in one write transaction per
/// batch, so many writers share one commit (and, with durability `full`, one fsync).
///
/// There is no artificial delay: a batch is whatever is waiting when the writer becomes free, up
/// to ``maxBatchSize`` jobs. Draining runs on the database's writer queue while jobs are waiting
/// and stops when the queue is empty; the next submission schedules it again. The queue only ever
/// holds the callers' pending jobs.
final class GroupCommitter: Sendable {
    private struct State {
        var queue: [any GroupCommitJob] = []
        var isDraining = false
    }

    /// The most jobs one transaction applies.
    let maxBatchSize: Int
    private let pool: DatabasePool
    private let state = Mutex(State())
    private let onRollback: @Sendable () -> Void
    private let onCommit: @Sendable () -> Void

    /// Creates a committer writing through `pool`'s writer connection.
    ///
    /// - Parameter onRollback: Called on the writer queue after a batch rolled back, before the next
    ///   batch starts (caches of what the batch wrote must be dropped).
    /// - Parameter onCommit: Called on the writer queue after each committed batch; keep it cheap.
    init(
        pool: DatabasePool, maxBatchSize: Int = 256, onCommit: @escaping @Sendable () -> Void = {},
        onRollback: @escaping @Sendable () -> Void = {}
    ) {
        precondition(maxBatchSize > 0, "maxBatchSize must be positive")
        self.pool = pool
        self.maxBatchSize = maxBatchSize
        self.onCommit = onCommit
        self.onRollback = onRollback
    }

    /// Queues `job`; it is performed in the next batch and completed after that batch's commit.
    func submit(_ job: any GroupCommitJob) {
        let startDraining = state.withLock { state in
            state.queue.append(job)
            guard !state.isDraining else { return false }
            state.isDraining = true
            return true
        }
        if startDraining {
            pool.asyncWriteWithoutTransaction { db in self.drain(db) }
        }
    }

    /// Commits batches until the queue is empty. Runs on the writer queue, so no task hop separates
    /// one batch from the next.
    private func drain(_ db: Database) {
        while let batch = nextBatch() {
            var failure: (any Error)?
            do {
                try db.inTransaction(.immediate) {
                    for job in batch { try job.perform(db) }
                    return .commit
                }
                onCommit()
            } catch {
                failure = error
                onRollback()
            }
            // Resuming the callers happens off the writer, alongside the next batch. Lifetime: one
            // pass over the batch's jobs.
            Task { [failure] in
                for job in batch { job.complete(with: failure) }
            }
        }
    }

    /// Takes up to ``maxBatchSize`` waiting jobs, or ends draining when none wait.
    private func nextBatch() -> [any GroupCommitJob]? {
        state.withLock { state in
            if state.queue.isEmpty {
                state.isDraining = false
                return nil
            }
            if state.queue.count <= maxBatchSize {
                defer { state.queue = [] }
                return state.queue
            }
            defer { state.queue.removeFirst(maxBatchSize) }
            return Array(state.queue.prefix(maxBatchSize))
        }
    }
}
