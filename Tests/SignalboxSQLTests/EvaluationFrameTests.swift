import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// A frame serves many rules and, reset, many messages: it must never answer with a value decoded
/// for another message.
struct EvaluationFrameTests {
    func message(_ payload: String, topic: String = "a/b") -> Message {
        Message(topic: topic, payload: Array(payload.utf8), timestamp: 0)
    }

    @Test func resetFramesReadTheNewMessage() throws {
        let statement = try Statement("SELECT temp, name, topic(2) AS level FROM '#' WHERE temp > 0")
        let frame = statement.makeFrame(for: message(#"{"temp": 1, "name": "first"}"#, topic: "a/one"))
        #expect(try statement.evaluate(in: frame) == .json(json(#"{"temp":1,"name":"first","level":"one"}"#)))
        frame.reset(for: message(#"{"name": "second", "temp": 2.5}"#, topic: "a/two"))
        #expect(try statement.evaluate(in: frame) == .json(json(#"{"temp":2.5,"name":"second","level":"two"}"#)))
        frame.reset(for: message(#"{"temp": -1}"#))
        #expect(try statement.evaluate(in: frame) == nil)
        frame.reset(for: message("not json"))
        #expect(try statement.evaluate(in: frame) == nil)
        frame.reset(for: message(#"{"temp": 3}"#))
        #expect(try statement.evaluate(in: frame) == .json(json(#"{"temp":3,"level":"b"}"#)))
    }

    @Test func decodeStampsSurviveWrapAround() throws {
        let statement = try Statement("SELECT VALUE temp FROM '#'")
        // Decoded under generation 1 …
        let frame = statement.makeFrame(for: message(#"{"temp": 1}"#))
        #expect(frame.generation == 1)
        #expect(try statement.evaluate(in: frame) == .json(.int(1)))
        // … then 2^32 messages later the generation is 1 again: the old stamp must not count.
        frame.generation = UInt32.max
        frame.reset(for: message(#"{"temp": 2}"#))
        #expect(frame.generation == 1)
        #expect(try statement.evaluate(in: frame) == .json(.int(2)))
    }

    @Test func setVariablesDoNotLeakBetweenRules() throws {
        let setter = try Statement("SET @v = temp SELECT @v AS v FROM '#'")
        let other = try Statement("SET @w = 5 SELECT @w AS w FROM '#'")
        let frame = EvaluationFrame(message: message(#"{"temp": 9}"#), services: EvaluationServices(), variableCount: 1)
        #expect(try setter.evaluate(in: frame) == .json(json(#"{"v":9}"#)))
        #expect(try other.evaluate(in: frame) == .json(json(#"{"w":5}"#)))
        frame.reset(for: message(#"{}"#))
        #expect(try setter.evaluate(in: frame) == .json(json("{}")))
    }
}
