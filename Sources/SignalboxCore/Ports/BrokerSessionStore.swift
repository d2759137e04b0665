/// What outlives a process about Signalbox's MQTT session with the broker: the topic filters it
/// subscribed to and the receipts of messages it journaled (which the journal keeps with them).
package protocol BrokerSessionStore: Sendable {
    /// The topic filters last saved for `session`.
    func brokerSubscriptions(session: String) async throws -> Set<String>

    /// Replaces the topic filters saved for `session`.
    func saveBrokerSubscriptions(_ filters: Set<String>, session: String) async throws

    /// Forgets the receipts of messages journaled from `session` (the broker lost the session).
    func forgetBrokerReceipts(session: String) async throws
}
