import { errorMessage, failureMessage, parseAmount, timelineOf, toView } from '../timeline';

describe('timeline helpers', () => {
    it('puts undated entries after dated ones', () => {
        const entries = timelineOf({
            currencyCode: 'EUR',
            actions: [
                { recordId: 'a1', type: 'Refund', status: 'Pending' },
                { recordId: 'a2', type: 'Capture', requestedAt: '2026-12-01T09:00:00.000Z' }
            ],
            logs: [{ recordId: 'l1', name: 'CKOL-1', occurredAt: '2026-12-02T09:00:00.000Z' }]
        });

        expect(entries.map((entry) => entry.key)).toEqual(['log-l1', 'action-a2', 'action-a1']);
        expect(entries[0].title).toBe('CKOL-1'); // no direction or operation: the log's name
        expect(entries[1].currencyCode).toBe('EUR');
        expect(entries[2].at).toBeNull();
    });

    it('uses when an action was processed, else when it was requested', () => {
        const [entry] = timelineOf({
            actions: [
                {
                    recordId: 'a1',
                    requestedAt: '2026-12-01T09:00:00.000Z',
                    processedAt: '2026-12-01T09:05:00.000Z'
                }
            ]
        });

        expect(entry.at).toBe('2026-12-01T09:05:00.000Z');
        expect(entry.title).toBe('Action');
    });

    it('offers no operation for a payment without a Checkout.com id', () => {
        const view = toView({ recordId: 'p1', status: 'Authorized', actions: [], logs: [] });

        expect(view.operations.map((operation) => operation.disabled)).toEqual([true, true, true]);
        expect(view.hasEntries).toBe(false);
    });

    it.each([
        ['Authorized', [false, true, false]],
        ['Partially Captured', [false, false, true]],
        ['Captured', [true, false, true]],
        ['Partially Refunded', [true, false, true]],
        ['Refunded', [true, true, true]],
        ['Voided', [true, true, true]],
        ['Declined', [true, true, true]]
    ])('a %s payment: capture, refund, void disabled = %j', (status, disabled) => {
        const view = toView({ recordId: 'p1', paymentId: 'pay_1', status });

        expect(view.operations.map((operation) => operation.operation)).toEqual([
            'capture',
            'refund',
            'void'
        ]);
        expect(view.operations.map((operation) => operation.disabled)).toEqual(disabled);
    });

    it.each([
        ['', null],
        ['  ', null],
        [undefined, null],
        ['12.34', 12.34],
        ['0', undefined],
        ['-1', undefined],
        ['abc', undefined]
    ])('reads the amount %j as %j', (text, amount) => {
        expect(parseAmount(text)).toBe(amount);
    });

    it.each([
        [{ body: { message: 'No access' } }, 'No access'],
        [{ body: [{ message: 'First' }, { message: 'Second' }] }, 'First, Second'],
        [new Error('Script failed'), 'Script failed'],
        [{ body: {} }, 'Unknown error'],
        [undefined, 'Unknown error']
    ])('reads the error %j as %j', (error, message) => {
        expect(errorMessage(error)).toBe(message);
    });

    it('says paybridge refused when the result has no message', () => {
        expect(failureMessage({ success: false, retryable: false })).toBe(
            'paybridge refused the request.'
        );
    });
});
