import SignalboxCore
import SignalboxJSON
import SignalboxShadows
import SignalboxTesting
import Synchronization

/// The AWS pages the shadow rules come from (see the research notes the tests were written against).
enum Guide {
    /// "Device Shadow service documents".
    static let document = "https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html"
    /// "Interacting with shadows" (formerly "Device Shadow service data flow").
    static let dataFlow = "https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-data-flow.html"
    /// "Simulating Device Shadow service communications" (captured payloads).
    static let simulating = "https://docs.aws.amazon.com/iot/latest/developerguide/using-device-shadows.html"
    /// "Device Shadow MQTT topics".
    static let mqtt = "https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-mqtt.html"
    /// "Device Shadow REST API".
    static let rest = "https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-rest-api.html"
    /// "Device Shadow error messages".
    static let errors = "https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-error-messages.html"
    /// "Diagnosing shadows".
    static let diagnosing = "https://docs.aws.amazon.com/iot/latest/developerguide/diagnosing-shadows.html"
    /// AWS IoT Core quotas, Device Shadow limits.
    static let limits = "https://docs.aws.amazon.com/general/latest/gr/iot-core.html#device-shadow-limits"
    /// The iot-data API model (ThingName / ShadowName patterns, PageSize bounds).
    static let apiModel =
        "https://github.com/boto/botocore/blob/develop/botocore/data/iot-data/2015-05-28/service-2.json"
    /// Signalbox's own choice where AWS states nothing (documented in the implementation).
    static let signalbox = "Signalbox design choice (not stated by AWS)"
}

/// Parses JSON text that the test knows is valid.
func json(_ text: String) -> Value {
    do {
        return try JSONParser.parse(text)
    } catch {
        fatalError("test JSON does not parse: \(error): \(text)")
    }
}

/// Parses JSON text that the test knows is an object.
func object(_ text: String) -> JSONObject {
    guard case .object(let object) = json(text) else { fatalError("not an object: \(text)") }
    return object
}

/// Compact JSON text, keys in document order.
func text(_ value: Value) -> String { JSONSerializer.string(value) }

/// Compact JSON text of a published payload.
func text(_ payload: [UInt8]) -> String { String(decoding: payload, as: UTF8.self) }

/// UTF-8 bytes of `text`.
func body(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A service over fresh in-memory storage with a recording publisher and a test clock.
struct ShadowFixture {
    let storage = InMemoryShadowStorage()
    let publisher = RecordingPublisher()
    let clock: ManualClock
    let service: ShadowService

    init(limits: ShadowLimits = ShadowLimits(), clock: ManualClock = ManualClock()) {
        self.clock = clock
        service = ShadowService(storage: storage, limits: limits, publisher: publisher, clock: { clock.seconds })
    }

    /// Updates `key` with the JSON text `request`, returning the accepted reply's text.
    @discardableResult
    func update(_ key: ShadowKey, _ request: String) async throws(ShadowError) -> String {
        text(try await service.update(key, body: body(request)))
    }

    /// The get reply's text.
    func get(_ key: ShadowKey, _ request: String = "") async throws(ShadowError) -> String {
        text(try await service.get(key, body: body(request)))
    }

    /// The delete reply's text.
    @discardableResult
    func delete(_ key: ShadowKey, _ request: String = "") async throws(ShadowError) -> String {
        text(try await service.delete(key, body: body(request)))
    }

    /// Topics published so far, in order.
    var topics: [String] { publisher.messages.map(\.topic) }

    /// The payload of the last message published on `topic`.
    func lastPayload(on topic: String) -> String? {
        publisher.messages.last { $0.topic == topic }.map { text($0.payload) }
    }
}

/// The error `body` throws, or `nil` when it succeeds.
func shadowError<T>(_ body: () async throws(ShadowError) -> T) async -> ShadowError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error
    }
}

/// The error `body` throws, or `nil` when it succeeds.
func shadowErrorSync<T>(_ body: () throws(ShadowError) -> T) -> ShadowError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

extension ShadowEngine {
    /// Applies the update bodies in order at the given times, starting from `record`.
    func applying(_ steps: [(Int64, String)], to record: ShadowRecord? = nil) throws(ShadowError) -> ShadowRecord? {
        var current = record
        for (now, request) in steps {
            current = try update(try parseUpdate(body(request)), current: current, now: now).record
        }
        return current
    }
}
