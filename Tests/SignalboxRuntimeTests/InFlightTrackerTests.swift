import Testing

@testable import SignalboxRuntime

@Suite struct InFlightTrackerTests {
    func counts(_ tracker: InFlightTracker) -> [Int] { [tracker.inFlight.count, tracker.inFlight.bytes] }

    @Test func theCheckpointStopsAtTheLowestPendingID() {
        let tracker = InFlightTracker(checkpoint: 0, lastID: 0, capacity: 100, byteCapacity: 1 << 20)
        let ids = tracker.allocate([10, 20, 30, 40])!
        #expect(ids == [1, 2, 3, 4])
        #expect(counts(tracker) == [4, 100])
        tracker.complete([2, 4])
        #expect(tracker.checkpoint == 0)
        #expect(counts(tracker) == [2, 40])
        tracker.complete(1)
        #expect(tracker.checkpoint == 2)
        tracker.complete([3, 3, 99, -1])
        #expect(tracker.checkpoint == 4)
        #expect(counts(tracker) == [0, 0])
        #expect(tracker.allocate([1]) == [5])
        #expect(tracker.checkpoint == 4)
    }

    @Test func capacityCountsMessagesAndBytesButAnEmptyTrackerTakesAnyBatch() {
        let tracker = InFlightTracker(checkpoint: 0, lastID: 0, capacity: 3, byteCapacity: 100)
        #expect(tracker.allocate([1, 1, 1, 1, 1]) == [1, 2, 3, 4, 5])
        #expect(tracker.allocate([1]) == nil)
        #expect(tracker.allocate([1], force: true) == [6])
        tracker.complete(Array(1...6))
        let id = tracker.allocate([60])!
        #expect(tracker.allocate([41]) == nil)
        #expect(tracker.allocate([40]) == [id[0] + 1])
    }

    @Test func replayedIDsArePendingAndTheGapsBetweenAreDone() {
        let tracker = InFlightTracker(
            checkpoint: 10, lastID: 20, replay: [(12, 5), (15, 7)], capacity: 100, byteCapacity: 1 << 20)
        #expect(tracker.checkpoint == 11)
        #expect(counts(tracker) == [2, 12])
        let ids = tracker.allocate([1, 1])!
        #expect(ids == [21, 22])
        tracker.complete(12)
        #expect(tracker.checkpoint == 14)
        tracker.complete([15, 21])
        #expect(tracker.checkpoint == 21)
        tracker.complete(22)
        #expect(tracker.checkpoint == 22)
    }

    @Test func nothingToReplayStartsAfterTheLastID() {
        let tracker = InFlightTracker(checkpoint: 3, lastID: 9, capacity: 10, byteCapacity: 100)
        #expect(tracker.checkpoint == 9)
        #expect(tracker.allocate([1]) == [10])
    }

    @Test func aLongRunKeepsTheCheckpointExact() {
        let tracker = InFlightTracker(checkpoint: 0, lastID: 0, capacity: 100_000, byteCapacity: 1 << 30)
        var pending: [Int64] = []
        var completed = Set<Int64>()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            pending += tracker.allocate(Array(repeating: 8, count: Int.random(in: 1...500, using: &rng)))!
            pending.shuffle(using: &rng)
            let done = pending.suffix(Int.random(in: 0...pending.count, using: &rng))
            pending.removeLast(done.count)
            tracker.complete(done)
            completed.formUnion(done)
            let lowest = pending.min().map { $0 - 1 } ?? completed.max() ?? 0
            #expect(tracker.checkpoint == lowest)
            #expect(counts(tracker) == [pending.count, pending.count * 8])
        }
    }
}
