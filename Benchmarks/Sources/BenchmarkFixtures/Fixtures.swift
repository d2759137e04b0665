import SignalboxJSON
import SignalboxSQL

/// The data the benchmarks run on: telemetry payloads of about 200 bytes and realistic rule sets.
public enum Fixtures {
    /// One fridge telemetry message, 209 bytes.
    public static let telemetry =
        #"{"deviceId":"fridge-0042","gateway":"gw-7","ts":1732200000123,"temp":4.75,"humidity":61.2,"battery":87,"door":"closed","compressor":true,"firmware":"2.4.1","alarms":[],"location":{"site":"store-12","aisle":3}}"#

    /// The telemetry message as bytes.
    public static let telemetryBytes = Array(telemetry.utf8)

    /// A message to publish: its topic and payload bytes.
    public struct Publication: Sendable {
        /// The topic it is published to.
        public var topic: String
        /// The payload bytes, as received.
        public var payload: [UInt8]
    }

    /// `count` telemetry messages from 1,000 fridges, with temperatures, batteries, doors and
    /// firmware varied so each rule matches some messages and not others. Deterministic.
    public static func publications(count: Int) -> [Publication] {
        var state: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        return (0..<count).map { _ in
            let device = "fridge-" + String(next(1_000)).leftPadded(to: 4)
            let temp = Double(next(4_000)) / 100 - 5  // -5.00 … 34.99
            let humidity = Double(40 + next(400) / 10) + Double(next(10)) / 10
            let battery = 5 + next(96)
            let door = next(10) == 0 ? "open" : "closed"
            let firmware = next(5) == 0 ? "2.3.9" : "2.4.1"
            let json =
                #"{"deviceId":"\#(device)","gateway":"gw-\#(next(16))","ts":\#(1_732_200_000_000 + next(1_000_000)),"#
                + #""temp":\#(temp),"humidity":\#(humidity),"battery":\#(battery),"door":"\#(door)","#
                + #""compressor":\#(next(2) == 0),"firmware":"\#(firmware)","alarms":[],"#
                + #""location":{"site":"store-\#(next(40))","aisle":\#(next(8))}}"#
            let topic = next(20) == 0 ? "devices/\(device)/status" : "devices/\(device)/telemetry"
            return Publication(topic: topic, payload: Array(json.utf8))
        }
    }

    /// Ten rules of the kinds real deployments write: threshold alerts, projections, per-device
    /// rules, rules on other topics. For a telemetry message about seven are candidates after the
    /// topic lookup and a few of those match.
    public static let tenRules: [String] = [
        "SELECT * FROM 'devices/+/telemetry' WHERE temp > 30 AND battery < 20",
        "SELECT deviceId, temp, ts FROM 'devices/+/telemetry' WHERE temp > 8",
        "SELECT deviceId, battery FROM 'devices/+/telemetry' WHERE battery < 15",
        "SELECT deviceId, door, ts FROM 'devices/+/telemetry' WHERE door = 'open'",
        "SELECT deviceId, humidity FROM 'devices/#' WHERE humidity > 75 AND compressor = true",
        "SELECT VALUE temp FROM 'devices/fridge-0042/telemetry'",
        "SELECT deviceId, location.site AS site, location.aisle AS aisle FROM 'devices/+/telemetry' WHERE location.aisle = 3",
        "SELECT * FROM 'devices/+/status'",
        "SELECT deviceId, topic(2) AS device, firmware FROM 'devices/+/telemetry' WHERE firmware <> '2.4.1'",
        "SELECT deviceId, temp * 1.8 + 32 AS tempF FROM '+/+/telemetry' WHERE temp >= 0 AND temp < 2",
    ]

    /// The device kinds of the distinct-topics workload: one rule each.
    static let kinds = [
        "fridge", "freezer", "chiller", "coldroom", "truck", "display", "icebox", "blastchiller", "proofer", "vault",
    ]

    /// The device kind of rule `i` in the distinct-topics workloads: the ten named kinds, then
    /// numbered ones (`kind-0010` …).
    static func kind(_ i: Int) -> String {
        i < kinds.count ? kinds[i] : "kind-" + String(i).leftPadded(to: 4)
    }

    /// `count` rules, one per device kind, each on its own topic family
    /// (`sites/+/<kind>/+/telemetry`): every message has exactly one candidate rule.
    public static func distinctRules(count: Int) -> [String] {
        (0..<count).map { i in
            "SELECT deviceId, temp, battery FROM 'sites/+/\(kind(i))/+/telemetry' WHERE temp > \(2 + i % 10) AND battery > 10"
        }
    }

    /// Ten rules on distinct topic families.
    public static let tenDistinctRules = distinctRules(count: 10)

    /// A thousand rules on distinct topic families.
    public static let thousandDistinctRules = distinctRules(count: 1_000)

    /// `count` telemetry messages spread over the topics of `kinds` device kinds.
    public static func distinctPublications(count: Int, kinds: Int = 10) -> [Publication] {
        publications(count: count).enumerated().map { i, publication in
            var publication = publication
            let device = publication.topic.split(separator: "/")[1]
            publication.topic = "sites/store-\(i % 40)/\(kind((i &* 7_919) % kinds))/\(device)/telemetry"
            return publication
        }
    }

    /// The ten rules plus 990 per-device rules, each on its own topic filter
    /// (`devices/fridge-NNNN/telemetry`), so a telemetry message has about one more candidate.
    public static let thousandRules: [String] =
        tenRules
        + (0..<990).map { i in
            let device = "fridge-" + String(i).leftPadded(to: 4)
            return "SELECT deviceId, temp FROM 'devices/\(device)/telemetry' WHERE temp > \(2 + i % 10)"
        }
}

/// Compiled rules behind a topic trie: the per-message path of the runtime.
///
/// One engine per thread: it keeps a reusable buffer for the trie's matches.
public final class RuleEngine: @unchecked Sendable {  // used by one benchmark thread at a time
    /// The compiled rules, in order.
    public let statements: [Statement]
    /// Rule indices by topic filter.
    public let trie: TopicTrie<Int>
    /// The most SET variables of any rule, so one frame fits every rule.
    let variableCount: Int
    var candidates: [Int32] = []
    /// One frame for every message, reset for each, as a runtime lane does.
    var frame: EvaluationFrame?

    /// Compiles every rule once.
    public init(rules: [String]) throws {
        var statements: [Statement] = []
        var trie = TopicTrie<Int>()
        for sql in rules {
            let statement = try Statement(sql)
            trie.insert(statement.topicFilter, statements.count)
            statements.append(statement)
        }
        self.statements = statements
        self.trie = trie
        self.variableCount = statements.map(\.compiler.variableCount).max() ?? 0
    }

    /// Parses one published message, finds its rules and evaluates each in the engine's frame;
    /// returns how many matched.
    @inline(never)
    public func process(_ publication: Fixtures.Publication, services: EvaluationServices) throws -> Int {
        let message = Message(topic: publication.topic, payload: publication.payload, timestamp: 1_732_200_000_123)
        trie.collectMatches(message.topic, into: &candidates)
        let frame: EvaluationFrame
        if let existing = self.frame {
            existing.reset(for: message)
            frame = existing
        } else {
            frame = EvaluationFrame(message: message, services: services, variableCount: variableCount)
            self.frame = frame
        }
        var matched = 0
        for number in candidates where try statements[Int(number)].evaluate(in: frame) != nil {
            matched += 1
        }
        return matched
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
