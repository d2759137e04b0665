import SignalboxJSON
import SignalboxSQL

/// Handler services that reach nothing, for building handlers only to check their configuration
/// (`signalbox check`, and every load of a rules file before it is swapped in): a handler's
/// `init` validates its settings and keeps its services; anything that calls one fails.
enum CheckingServices {
    /// What every call throws.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "handler services are not available while rules are being checked" }
    }

    static func make() -> HandlerServices {
        HandlerServices(
            shadows: NoShadows(), records: NoRecords(), http: NoHTTP(),
            publisher: DiscardingPublisher())
    }

    struct NoShadows: ShadowDocuments, ShadowLookup {
        var limits: ShadowLimits { ShadowLimits() }
        var lookup: any ShadowLookup { self }
        func update(_ key: ShadowKey, body: [UInt8]) async throws(ShadowError) -> Value {
            throw ShadowError(.internalError, Unavailable().description)
        }
        func shadowDocument(thing: String, shadowName: String?) throws -> Value? { throw Unavailable() }
    }

    struct NoRecords: RecordStorage {
        func insert(_ rows: [RecordRow], into table: String) async throws { throw Unavailable() }
        func records(in table: String, matching query: RecordQuery) async throws -> [StoredRecord] {
            throw Unavailable()
        }
        func tables() async throws -> [String] { throw Unavailable() }
        func deleteRecords(in table: String, receivedBefore cutoff: Int64) async throws -> Int { throw Unavailable() }
    }

    struct NoHTTP: HTTPClient {
        func send(_ request: OutgoingHTTPRequest, deadline: ContinuousClock.Instant) async throws
            -> HTTPResponseReceived
        { throw Unavailable() }
    }
}
