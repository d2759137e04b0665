import SignalboxCore
import Synchronization

/// Recently looked-up token records, kept for a moment so a busy client costs one registry read per
/// second rather than one per request. A revoked token stops working within ``lifetime`` seconds.
///
/// Bounded: when full it is emptied and refills with the tokens in use.
final class TokenCache: Sendable {
    private struct Entry {
        var record: TokenRecord
        var expires: Int64
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// How long, in seconds, a looked-up record is reused (0 turns the cache off).
    let lifetime: Int64
    /// The most records kept.
    let capacity: Int

    /// Creates an empty cache.
    init(lifetime: Int64 = 1, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The cached record for `id`, if it has not expired at `now`.
    func record(id: String, now: Int64) -> TokenRecord? {
        entries.withLock { entries in
            guard let entry = entries[id], entry.expires > now else { return nil }
            return entry.record
        }
    }

    /// Keeps `record` until `now + lifetime`.
    func insert(_ record: TokenRecord, now: Int64) {
        guard lifetime > 0 else { return }
        entries.withLock { entries in
            if entries.count >= capacity, entries[record.id] == nil { entries.removeAll(keepingCapacity: true) }
            entries[record.id] = Entry(record: record, expires: now + lifetime)
        }
    }

    /// Forgets everything (tokens were revoked here).
    func removeAll() {
        entries.withLock { $0.removeAll() }
    }

    /// Forgets `id` (its token was revoked here).
    func remove(id: String) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }
}
