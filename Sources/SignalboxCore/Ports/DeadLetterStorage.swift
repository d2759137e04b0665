/// An invocation that failed for good, its error action included.
package struct DeadLetter: Sendable, Hashable {
    /// Assigned by the storage; 0 before it is stored.
    package var id: Int64
    /// When it was stored (ms since the epoch).
    package var createdAt: Int64
    /// The rule, rule-set version, action and handler.
    package var source: ActionSource
    /// The invocation's idempotency key; storing the same key again replaces the letter.
    package var idempotencyKey: String
    /// The message, as journaled.
    package var message: JournalEntry
    /// The device key of the message.
    package var device: String
    /// The last error, without payload values.
    package var error: String
    /// Attempts made, retries from the dead-letter store included.
    package var attempts: Int

    /// Bundles a dead letter.
    package init(
        id: Int64 = 0, createdAt: Int64, source: ActionSource, idempotencyKey: String, message: JournalEntry,
        device: String, error: String, attempts: Int
    ) {
        self.id = id
        self.createdAt = createdAt
        self.source = source
        self.idempotencyKey = idempotencyKey
        self.message = message
        self.device = device
        self.error = error
        self.attempts = attempts
    }
}

/// Where dead letters are kept until they are retried or deleted.
package protocol DeadLetterStorage: Sendable {
    /// Stores `letter` (replacing one with the same idempotency key); returns its id.
    func add(_ letter: DeadLetter) async throws -> Int64

    /// Dead letters with `id > after`, oldest first, at most `limit`.
    func list(after: Int64, limit: Int) async throws -> [DeadLetter]

    /// The dead letter `id`.
    func get(_ id: Int64) async throws -> DeadLetter?

    /// Deletes dead letter `id`; returns whether it existed.
    func remove(_ id: Int64) async throws -> Bool

    /// How many dead letters there are.
    func count() async throws -> Int
}
