import SignalboxJSON
import Synchronization

/// Read access to stored device shadows, for `get_shadow` and `get_thing_shadow`.
package protocol ShadowLookup: Sendable {
    /// The shadow document of `thing` (classic shadow when `shadowName` is nil), or nil if none.
    func shadowDocument(thing: String, shadowName: String?) throws -> Value?
}

/// A ``ShadowLookup`` over documents given up front: the shadows of a dry run (`signalbox test`,
/// `signalbox eval`) and of SQL tests.
package struct GivenShadowDocuments: ShadowLookup {
    /// Documents by thing name, then shadow name ("" for the classic shadow).
    package var documents: [String: [String: Value]]

    package init(documents: [String: [String: Value]] = [:]) { self.documents = documents }

    /// Sets the document of a shadow.
    package mutating func set(thing: String, shadowName: String? = nil, document: Value) {
        documents[thing, default: [:]][shadowName ?? ""] = document
    }

    package func shadowDocument(thing: String, shadowName: String?) throws -> Value? {
        documents[thing]?[shadowName ?? ""]
    }
}

/// What evaluation may call on the outside world. All of it injectable for tests.
package struct EvaluationServices: Sendable {
    /// Shadow documents for `get_shadow`; nil makes `get_shadow` return Undefined.
    package var shadows: (any ShadowLookup)?
    /// The current time in milliseconds since the epoch, for `parse_time` defaults and `now`.
    package var now: @Sendable () -> Int64
    /// A random UUID string (`newuuid()`).
    package var uuid: @Sendable () -> String
    /// A uniform random number in [0, 1) (`rand()`).
    package var random: @Sendable () -> Double

    package init(
        shadows: (any ShadowLookup)? = nil,
        now: @escaping @Sendable () -> Int64 = WallClock.system.milliseconds,
        uuid: @escaping @Sendable () -> String = { RandomUUID.string() },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.shadows = shadows
        self.now = now
        self.uuid = uuid
        self.random = random
    }
}

/// Why evaluating a rule failed at run time (as opposed to yielding Undefined).
package struct EvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, without payload values.
    package var message: String
    /// Where in the rule text.
    package var range: SourceRange

    package init(_ message: String, at range: SourceRange) {
        self.message = message
        self.range = range
    }

    package var description: String { message }
}

/// An attribute name, with its UTF-8 bytes ready for comparing against payload keys, and a
/// process-wide number so a frame can remember, per message, what the name read.
package struct AttributeName: Sendable, Hashable {
    /// The name.
    package let name: String
    /// Its UTF-8 bytes.
    package let utf8: [UInt8]
    /// The same number for the same name everywhere (dense, from 0).
    package let id: Int
    /// The first eight bytes, zero-padded, for comparing short keys in one step.
    let prefix: UInt64

    /// Names seen so far, numbered in order. Grows only with distinct attribute names in rules.
    static let registry = Mutex<[String: Int]>([:])

    package init(_ name: String) {
        self.name = name
        self.id = Self.registry.withLock { names in
            if let id = names[name] { return id }
            let id = names.count
            names[name] = id
            return id
        }
        self.utf8 = Array(name.utf8)
        var prefix: UInt64 = 0
        for (i, byte) in utf8.prefix(8).enumerated() { prefix |= UInt64(byte) << (8 * UInt64(i)) }
        self.prefix = prefix
    }
}

/// The per-message state of evaluation: the message, its payload decoded on demand, SET variables
/// and the element a nested query is at.
///
/// One frame serves every rule a message is evaluated by (``Statement/evaluate(in:)`` resets the
/// variables), so a payload member several rules read is decoded once. A frame belongs to one
/// thread at a time.
package final class EvaluationFrame {
    /// The message being evaluated.
    package private(set) var message: Message
    /// Services for functions that reach outside (shadows, clock, randomness).
    package let services: EvaluationServices
    // Hot fields are read on every attribute access. A frame is confined to one thread and no
    // access to them overlaps another (writes happen after the value written is computed), so the
    // dynamic exclusivity checks are skipped.
    /// Values of `SET` variables, by slot (Undefined is nil).
    @exclusivity(unchecked) package var variables: [Value?]
    /// The element a nested query is iterating over; nil at the top level, where attribute names
    /// refer to the payload.
    @exclusivity(unchecked) package var row: Value?
    /// The name of the rule being evaluated, if any.
    package var ruleName: String?

    /// The payload bytes and their layout, held here so a lookup does not go through `message`.
    private var payloadBytes: [UInt8]
    private var members: [JSONLayout.Member]
    /// What each attribute name read for the current message, by ``AttributeName/id``; an entry is
    /// current only when its stamp equals `generation`, so moving to the next message clears
    /// nothing.
    @exclusivity(unchecked) private var readValues: [Value?] = []
    @exclusivity(unchecked) private var readStamps: [UInt32] = []
    /// The current message's stamp (internal so tests can reach the wrap-around).
    var generation: UInt32 = 1
    /// The whole payload, once decoded.
    @exclusivity(unchecked) private var decodedPayload: Value??
    private var cachedTopicLevels: [Substring]?

    package init(message: Message, services: EvaluationServices, variableCount: Int = 0, ruleName: String? = nil) {
        self.message = message
        self.services = services
        self.variables = variableCount == 0 ? [] : Array(repeating: nil, count: variableCount)
        self.row = nil
        self.ruleName = ruleName
        self.payloadBytes = message.rawPayload
        self.members = message.layout?.members ?? []
    }

    /// Makes the frame evaluate `message` from now on, keeping its buffers: a runtime lane can use
    /// one frame for every message it processes.
    package func reset(for message: Message) {
        self.message = message
        payloadBytes = message.rawPayload
        members = message.layout?.members ?? []
        generation &+= 1
        if generation == 0 {
            // After 2^32 messages the stamps wrap: start them over.
            for i in readStamps.indices { readStamps[i] = 0 }
            generation = 1
        }
        decodedPayload = nil
        cachedTopicLevels = nil
        row = nil
        for slot in variables.indices { variables[slot] = nil }
    }

    /// Makes the frame ready for a statement with `variableCount` SET variables: top level again,
    /// every variable Undefined. Decoded payload members are kept.
    @inline(__always)
    package func prepare(variableCount: Int) {
        if variables.count < variableCount {
            variables = Array(repeating: nil, count: variableCount)
        } else {
            for slot in variables.indices where variables[slot] != nil { variables[slot] = nil }
        }
        row = nil
    }

    /// The payload's top-level attribute `name` (the last one, if the key repeats); Undefined when
    /// the payload is not a JSON object or has no such key. Decoded on first use.
    package func payloadMember(_ name: AttributeName) -> Value? {
        let id = name.id
        if id < readStamps.count {
            if readStamps[id] == generation { return readValues[id] }
        } else {
            let count = max(id + 1, 2 * readStamps.count, 32)
            readStamps.append(contentsOf: repeatElement(0, count: count - readStamps.count))
            readValues.append(contentsOf: repeatElement(nil, count: count - readValues.count))
        }
        let value = payloadBytes.withUnsafeBufferPointer { bytes -> Value? in
            members.withUnsafeBufferPointer { members -> Value? in
                var i = members.count - 1
                while i >= 0 {
                    if Self.key(members[i], in: bytes, equals: name) {
                        return JSONLayout.value(of: members[i], in: bytes)
                    }
                    i -= 1
                }
                return nil
            }
        }
        readValues[id] = value
        readStamps[id] = generation
        return value
    }

    @inline(__always)
    static func key(_ member: JSONLayout.Member, in bytes: UnsafeBufferPointer<UInt8>, equals name: AttributeName)
        -> Bool
    {
        let start = Int(member.keyStart)
        let count = Int(member.keyEnd) - start
        if member.keyHasEscapes {
            let quoted = UnsafeBufferPointer(rebasing: bytes[(start - 1)..<(start + count + 1)])
            guard case .string(let key)? = try? JSONParser.parse(buffer: quoted).get() else { return false }
            return key == name.name
        }
        guard count == name.utf8.count else { return false }
        if count <= 8 && start + 8 <= bytes.count {
            // One unaligned load: the key's bytes, masked to its length.
            let word = UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + start).loadUnaligned(as: UInt64.self))
            let mask: UInt64 = count == 8 ? ~0 : (1 << (8 * UInt64(count))) &- 1
            return word & mask == name.prefix
        }
        return name.utf8.withUnsafeBufferPointer { wanted in
            for j in 0..<count where bytes[start + j] != wanted[j] { return false }
            return true
        }
    }

    /// The whole payload decoded (once), or nil for a binary payload.
    package var payloadValue: Value? {
        if let decodedPayload { return decodedPayload }
        let value = message.json
        decodedPayload = .some(value)
        return value
    }

    /// The levels of the message's topic, split once on first use.
    package var topicLevels: [Substring] {
        if let cachedTopicLevels { return cachedTopicLevels }
        // Split on the UTF-8 view: '/' is one byte, and Character iteration is slow.
        let topic = message.topic
        var levels: [Substring] = []
        var start = topic.utf8.startIndex
        for index in topic.utf8.indices where topic.utf8[index] == UInt8(ascii: "/") {
            levels.append(topic[start..<index])
            start = topic.utf8.index(after: index)
        }
        levels.append(topic[start...])
        cachedTopicLevels = levels
        return levels
    }
}
