import SignalboxCore
import SignalboxJSON
import SignalboxSQL

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

extension JournalEntry {
    /// Whether it is a message Signalbox or AWS semantics generate (`$…` topics; a Basic Ingest
    /// topic counts by its `{topic}`), which says nothing about a device's own reporting.
    var isDeviceEvent: Bool { BasicIngestTopic.effectiveTopic(topic).utf8.first == UInt8(ascii: "$") }

    /// The entry as rules see it: the gateway is the publisher's identity (`principal()`), the
    /// message id is its trace id (`traceid()`, the `traceId` of the HTTP publish reply), and
    /// `accountID` is what `accountid()` returns.
    func ruleInput(accountID: String?) -> Message {
        Message(
            topic: topic, payload: payload, clientID: clientID, principal: gateway, timestamp: receivedAt,
            traceID: String(id), accountID: accountID)
    }
}

extension DeviceEvent {
    /// The event as the message journaled on `$signalbox/events/devices/{device}/{kind}`.
    var message: IncomingMessage {
        var payload = JSONObject(minimumCapacity: 4)
        payload.appendUnique(key: "device", value: .string(device))
        payload.appendUnique(key: "event", value: .string(kind.rawValue))
        payload.appendUnique(key: "lastSeenAt", value: .int(lastSeen))
        switch kind {
        case .silent: payload.appendUnique(key: "silentAfterMs", value: .int(silentAfter))
        case .online: payload.appendUnique(key: "silentForMs", value: .int(at - lastSeen))
        }
        let topic = kind == .silent ? DevicePolicy.silentTopic(device) : DevicePolicy.onlineTopic(device)
        return IncomingMessage(topic: topic, payload: JSONSerializer.bytes(.object(payload)), receivedAt: at)
    }
}

extension MessageMetadata {
    /// What an invocation knows of journal entry `entry`, ordered by `device`.
    init(_ entry: JournalEntry, device: String) {
        self.init(
            id: entry.id, topic: entry.topic, device: device, receivedAt: entry.receivedAt, clientID: entry.clientID,
            gateway: entry.gateway)
    }
}
