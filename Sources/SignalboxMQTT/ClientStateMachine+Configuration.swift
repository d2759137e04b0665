extension ClientStateMachine {
    /// How the client connects and how much it keeps in flight.
    package struct Configuration: Sendable {
        package var version: ProtocolVersion
        package var clientID: String
        /// False keeps the session (subscriptions, unacknowledged messages) across connections.
        package var cleanStart: Bool
        /// Seconds; 0 turns keep-alive off.
        package var keepAlive: UInt16
        package var username: String?
        package var password: [UInt8]?
        /// MQTT 5: how long the broker keeps the session after a disconnect, in seconds.
        package var sessionExpiry: UInt32
        /// The most incoming QoS 1 publishes the broker may have unacknowledged (MQTT 5 Receive Maximum).
        package var receiveMaximum: UInt16
        /// The largest packet the broker may send.
        package var maximumPacketSize: UInt32
        /// The most outgoing QoS 1 publishes in flight (the broker's Receive Maximum lowers it).
        package var outgoingWindow: UInt16
        /// The most outgoing publishes waiting beyond the window; past it ``ClientStateMachine/publish(_:token:)``
        /// answers `.full`.
        package var maxQueuedPublishes: Int

        package init(
            version: ProtocolVersion = .v5, clientID: String, cleanStart: Bool = false, keepAlive: UInt16 = 30,
            username: String? = nil, password: [UInt8]? = nil, sessionExpiry: UInt32 = 86_400,
            receiveMaximum: UInt16 = 1_000, maximumPacketSize: UInt32 = 1 << 20, outgoingWindow: UInt16 = 1_000,
            maxQueuedPublishes: Int = 10_000
        ) {
            self.version = version
            self.clientID = clientID
            self.cleanStart = cleanStart
            self.keepAlive = keepAlive
            self.username = username
            self.password = password
            self.sessionExpiry = sessionExpiry
            self.receiveMaximum = max(1, receiveMaximum)
            self.maximumPacketSize = max(64, maximumPacketSize)
            self.outgoingWindow = max(1, outgoingWindow)
            self.maxQueuedPublishes = max(0, maxQueuedPublishes)
        }
    }
}
