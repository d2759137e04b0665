import Foundation
import Synchronization

/// Counters every connection updates as replies come in: the per-second progress lines, the
/// acknowledged ids file, and the rules reloads in progress.
final class LiveCounters: Sendable {
    /// Messages acknowledged (journaled) so far.
    let messages = Atomic<Int>(0)
    /// Replies so far, and how many of them were 200, 429, 503 and anything else.
    let requests = Atomic<Int>(0)
    let ok = Atomic<Int>(0)
    let throttled = Atomic<Int>(0)
    let unavailable = Atomic<Int>(0)
    let other = Atomic<Int>(0)
    /// Requests that got no reply (the connection failed).
    let transportErrors = Atomic<Int>(0)
    /// Requests written whose reply has not arrived yet.
    let inFlightRequests = Atomic<Int>(0)
    /// The slowest request since the last progress line, in microseconds.
    let slowest = Atomic<UInt64>(0)
    /// Whether reloads run, so connections only look at ``reloads`` when they do.
    let reloading: Bool
    /// How long after a reload's reply a request still counts as overlapping it.
    let reloadGrace: Duration

    /// Each reload as (sent, replied); `replied` is nil while it is in progress. Oldest first.
    private let reloads = Mutex<[(sent: ContinuousClock.Instant, replied: ContinuousClock.Instant?)]>([])
    /// `first_id<TAB>count` lines not yet written to the ids file.
    private let pendingIDs = Mutex<[UInt8]>([])
    private let idsFile: FileHandle?

    /// Counters for a run; `idsFile` receives the acknowledged ids when given.
    init(reloading: Bool, reloadGrace: Duration, idsFile: FileHandle?) {
        self.reloading = reloading
        self.reloadGrace = reloadGrace
        self.idsFile = idsFile
    }

    /// Counts one reply with status `status` that acknowledged `acknowledged` messages.
    func count(status: Int, messages acknowledged: Int) {
        requests.add(1, ordering: .relaxed)
        messages.add(acknowledged, ordering: .relaxed)
        switch status {
        case 200: ok.add(1, ordering: .relaxed)
        case 429: throttled.add(1, ordering: .relaxed)
        case 503: unavailable.add(1, ordering: .relaxed)
        default: other.add(1, ordering: .relaxed)
        }
    }

    /// Keeps `micros` if it is the slowest request since the last progress line.
    func recordLatency(_ micros: UInt64) {
        var current = slowest.load(ordering: .relaxed)
        while micros > current {
            let (exchanged, original) = slowest.compareExchange(
                expected: current, desired: micros, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Notes that messages `first..<first + count` were acknowledged (journaled) by the server.
    func acknowledge(first: Int64, count: Int) {
        guard idsFile != nil else { return }
        let line = Array("\(first)\t\(count)\n".utf8)
        pendingIDs.withLock { $0 += line }
    }

    /// Writes the acknowledged ids noted so far to the ids file.
    func flushIDs() {
        guard let idsFile else { return }
        let bytes = pendingIDs.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        if !bytes.isEmpty { idsFile.write(Data(bytes)) }
    }

    /// A reload request was written at `instant`.
    func reloadStarted(at instant: ContinuousClock.Instant) {
        reloads.withLock { $0.append((instant, nil)) }
    }

    /// The reload in progress was answered (or failed) at `instant`.
    func reloadFinished(at instant: ContinuousClock.Instant) {
        reloads.withLock { list in
            if let last = list.indices.last { list[last].replied = instant }
        }
    }

    /// Whether a request written at `sent` and answered at `done` overlapped a reload: it was
    /// answered after a reload was sent, and written before that reload's reply plus the grace.
    func overlapsReload(sent: ContinuousClock.Instant, done: ContinuousClock.Instant) -> Bool {
        reloads.withLock { list in
            for reload in list.suffix(3).reversed() where reload.sent < done {
                guard let replied = reload.replied else { return true }
                if sent < replied + reloadGrace { return true }
            }
            return false
        }
    }
}
