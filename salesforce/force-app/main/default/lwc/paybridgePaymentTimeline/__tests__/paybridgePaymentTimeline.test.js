import { createElement } from 'lwc';
import { refreshApex } from '@salesforce/apex';
import LightningConfirm from 'lightning/confirm';
import PaybridgePaymentTimeline from 'c/paybridgePaymentTimeline';
import paymentsOf from '@salesforce/apex/PaybridgePaymentTimeline.paymentsOf';
import capture from '@salesforce/apex/PaybridgePaymentTimeline.capture';
import refund from '@salesforce/apex/PaybridgePaymentTimeline.refund';
import voidPayment from '@salesforce/apex/PaybridgePaymentTimeline.voidPayment';

// The shape PaybridgePaymentTimeline.paymentsOf returns (its Payment/Action/LogEntry classes).
const PAYMENTS = require('./data/payments.json');

const ORDER_ID = '8015g00000AbCdEAAV';
const PAYMENT_ID = 'pay_mbabizu24mvu3mela5njyhpit4';

jest.mock(
    '@salesforce/apex/PaybridgePaymentTimeline.paymentsOf',
    () => {
        const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
        return { default: createApexTestWireAdapter(jest.fn()) };
    },
    { virtual: true }
);
jest.mock('@salesforce/apex/PaybridgePaymentTimeline.capture', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/PaybridgePaymentTimeline.refund', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/PaybridgePaymentTimeline.voidPayment', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex', () => ({ refreshApex: jest.fn(() => Promise.resolve()) }), {
    virtual: true
});

const ACCEPTED = {
    success: true,
    idempotencyKey: 'key-accepted',
    paymentId: PAYMENT_ID,
    actionId: 'act_y3oqhf46pyzuxjbcn2giaqnb44',
    status: 'Requested',
    paymentStatus: 'Partially Captured',
    httpStatus: 202
};

function flush() {
    // Apex promises, then the re-render they cause.
    return new Promise((resolve) => setTimeout(resolve, 0));
}

function mount() {
    const element = createElement('c-paybridge-payment-timeline', { is: PaybridgePaymentTimeline });
    element.recordId = ORDER_ID;
    const toasts = [];
    element.addEventListener('lightning__showtoast', (event) => toasts.push(event.detail));
    document.body.appendChild(element);
    return { element, toasts };
}

function $(element, selector) {
    return element.shadowRoot.querySelector(selector);
}

function $$(element, selector) {
    return Array.from(element.shadowRoot.querySelectorAll(selector));
}

function paymentCard(element, paymentId) {
    return $(element, `article[data-payment="${paymentId}"]`);
}

function button(element, paymentId, operation) {
    return paymentCard(element, paymentId).querySelector(
        `lightning-button[data-operation="${operation}"]`
    );
}

function typeAmount(element, paymentId, value) {
    const input = paymentCard(element, paymentId).querySelector('lightning-input.amount');
    input.dispatchEvent(new CustomEvent('change', { detail: { value } }));
}

async function loaded(payments = PAYMENTS) {
    const mounted = mount();
    paymentsOf.emit(payments);
    await flush();
    return mounted;
}

async function click(element, paymentId, operation) {
    button(element, paymentId, operation).click();
    await flush();
    await flush();
}

describe('c-paybridge-payment-timeline', () => {
    beforeEach(() => {
        LightningConfirm.open = jest.fn(() => Promise.resolve(true));
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('asks for the payments of the page record', async () => {
        await loaded();
        expect(paymentsOf.getLastConfig()).toEqual({ recordId: ORDER_ID });
    });

    it('shows each payment with its status, amounts and timeline, newest first', async () => {
        const { element } = await loaded();

        expect($$(element, 'article.payment')).toHaveLength(2);
        const card = paymentCard(element, PAYMENT_ID);
        expect(card.querySelector('.payment-name').textContent).toBe('CKOP-00000001');
        expect(card.querySelector('.payment-name').getAttribute('href')).toBe('/a015g00000PayAAAA');
        expect(card.querySelector('.payment-status').textContent).toBe('Authorized');
        const authorized = card.querySelector('lightning-formatted-number.authorized');
        expect(authorized.value).toBe(149.9);
        expect(authorized.currencyCode).toBe('EUR');
        expect(card.querySelector('lightning-formatted-number.captured').value).toBe(0);

        const entries = Array.from(card.querySelectorAll('li.entry'));
        expect(entries.map((li) => li.querySelector('.entry-title').textContent)).toEqual([
            'Outbound · capture',
            'Capture',
            'Inbound · payment_approved',
            'Authorization'
        ]);
        expect(entries.map((li) => li.dataset.kind)).toEqual(['log', 'action', 'log', 'action']);
        expect(entries.map((li) => li.querySelector('.entry-status').textContent)).toEqual([
            'Error',
            'Requested',
            'Info',
            'Succeeded'
        ]);
        expect(entries[0].querySelector('.entry-detail').textContent.trim()).toBe(
            'HTTP 422 · amount_exceeds_capturable · Amount exceeds the capturable amount · ' +
                'request req_envelope'
        );
        expect(entries[1].querySelector('lightning-formatted-number.entry-amount').value).toBe(50);
        expect(entries[1].querySelector('.entry-detail').textContent.trim()).toBe(
            'Reference SHIP-1 · act_y3oqhf46pyzuxjbcn2giaqnb44'
        );
        expect(entries[0].querySelector('lightning-formatted-number.entry-amount')).toBeNull();

        const other = paymentCard(element, 'pay_other');
        expect(other.querySelector('li.entry')).toBeNull();
        expect(other.querySelector('.no-entries')).not.toBeNull();
        expect($(element, '.empty')).toBeNull();
        expect($(element, 'lightning-spinner')).toBeNull();
    });

    it('offers the operations the payment status allows', async () => {
        const { element } = await loaded();

        expect(button(element, PAYMENT_ID, 'capture').disabled).toBe(false);
        expect(button(element, PAYMENT_ID, 'void').disabled).toBe(false);
        expect(button(element, PAYMENT_ID, 'refund').disabled).toBe(true);
        expect(button(element, 'pay_other', 'capture').disabled).toBe(true);
        expect(button(element, 'pay_other', 'void').disabled).toBe(true);
        expect(button(element, 'pay_other', 'refund').disabled).toBe(false);
    });

    it('shows a spinner until the payments arrive', async () => {
        const { element } = mount();
        await flush();
        expect($(element, 'lightning-spinner')).not.toBeNull();
        expect($(element, '.empty')).toBeNull();
    });

    it('says so when the record has no payment', async () => {
        const { element } = await loaded([]);

        expect($(element, '.empty').textContent).toBe(
            'No Checkout.com payment for this record yet.'
        );
        expect($(element, 'article.payment')).toBeNull();
        expect($(element, '.load-error')).toBeNull();
    });

    it('shows why the payments could not be read', async () => {
        const { element } = mount();
        paymentsOf.error({ message: 'No such column Captured_Amount__c' });
        await flush();

        expect($(element, '.load-error').textContent).toBe('No such column Captured_Amount__c');
        expect($(element, '.empty')).toBeNull();
    });

    it('captures the typed amount of that payment, then refreshes the timeline', async () => {
        capture.mockResolvedValue(ACCEPTED);
        const { element, toasts } = await loaded();

        typeAmount(element, PAYMENT_ID, '50.00');
        await click(element, PAYMENT_ID, 'capture');

        expect(LightningConfirm.open).toHaveBeenCalledWith(
            expect.objectContaining({ message: `Capture 50 EUR of ${PAYMENT_ID}?` })
        );
        expect(capture).toHaveBeenCalledTimes(1);
        expect(capture).toHaveBeenCalledWith({
            recordId: ORDER_ID,
            paymentId: PAYMENT_ID,
            amount: 50,
            idempotencyKey: null
        });
        expect(toasts).toEqual([
            {
                variant: 'success',
                title: 'Capture requested',
                message: 'paybridge accepted it; payment status: Partially Captured.'
            }
        ]);
        expect(refreshApex).toHaveBeenCalledTimes(1);
    });

    it('refunds all that is refundable when no amount is typed', async () => {
        refund.mockResolvedValue({ ...ACCEPTED, paymentStatus: 'Refunded' });
        const { element } = await loaded();

        await click(element, 'pay_other', 'refund');

        expect(LightningConfirm.open).toHaveBeenCalledWith(
            expect.objectContaining({ message: 'Refund all that remains of pay_other?' })
        );
        expect(refund).toHaveBeenCalledWith({
            recordId: ORDER_ID,
            paymentId: 'pay_other',
            amount: null,
            idempotencyKey: null
        });
        expect(capture).not.toHaveBeenCalled();
    });

    it('voids without an amount', async () => {
        voidPayment.mockResolvedValue({ ...ACCEPTED, paymentStatus: 'Voided' });
        const { element, toasts } = await loaded();

        typeAmount(element, PAYMENT_ID, '10');
        await click(element, PAYMENT_ID, 'void');

        expect(LightningConfirm.open).toHaveBeenCalledWith(
            expect.objectContaining({ message: `Void the authorization of ${PAYMENT_ID}?` })
        );
        expect(voidPayment).toHaveBeenCalledWith({
            recordId: ORDER_ID,
            paymentId: PAYMENT_ID,
            idempotencyKey: null
        });
        expect(toasts[0].title).toBe('Void requested');
    });

    it('sends nothing more while a call is in flight', async () => {
        let answer;
        capture.mockReturnValue(
            new Promise((resolve) => {
                answer = resolve;
            })
        );
        const { element } = await loaded();

        await click(element, PAYMENT_ID, 'capture');
        await click(element, PAYMENT_ID, 'capture');
        answer(ACCEPTED);
        await flush();

        expect(capture).toHaveBeenCalledTimes(1);
    });

    it('sends nothing when the user does not confirm', async () => {
        const { element, toasts } = await loaded();
        LightningConfirm.open = jest.fn(() => Promise.resolve(false));

        await click(element, PAYMENT_ID, 'capture');

        expect(LightningConfirm.open).toHaveBeenCalledTimes(1);
        expect(capture).not.toHaveBeenCalled();
        expect(toasts).toEqual([]);
    });

    it('refuses an amount that is not above zero, without calling Apex', async () => {
        const { element, toasts } = await loaded();

        typeAmount(element, PAYMENT_ID, '-5');
        await click(element, PAYMENT_ID, 'capture');

        expect(capture).not.toHaveBeenCalled();
        expect(LightningConfirm.open).not.toHaveBeenCalled();
        expect(toasts).toEqual([
            {
                variant: 'error',
                title: 'Capture not sent',
                message: 'Enter an amount above 0, or none for all.'
            }
        ]);
    });

    it('shows paybridge refusal in an error toast and keeps the page as it is', async () => {
        capture.mockResolvedValue({
            success: false,
            idempotencyKey: 'key-final',
            httpStatus: 422,
            errorCode: 'amount_exceeds_capturable',
            errorMessage: 'Amount exceeds the capturable amount.',
            requestId: 'req_envelope',
            retryable: false
        });
        const { element, toasts } = await loaded();

        typeAmount(element, PAYMENT_ID, '500');
        await click(element, PAYMENT_ID, 'capture');

        expect(toasts).toEqual([
            {
                variant: 'error',
                title: 'Capture failed',
                message:
                    'Amount exceeds the capturable amount ' +
                    '(amount_exceeds_capturable · HTTP 422 · request req_envelope).'
            }
        ]);
        expect(refreshApex).not.toHaveBeenCalled();

        await click(element, PAYMENT_ID, 'capture');
        expect(capture.mock.calls[1][0].idempotencyKey).toBeNull(); // final: a new attempt
    });

    it('retries a retryable failure with the same idempotency key', async () => {
        capture
            .mockResolvedValueOnce({
                success: false,
                idempotencyKey: 'key-timed-out',
                httpStatus: 0,
                errorCode: 'callout_failed',
                errorMessage: 'Read timed out',
                retryable: true
            })
            .mockResolvedValueOnce(ACCEPTED);
        const { element, toasts } = await loaded();

        typeAmount(element, PAYMENT_ID, '50');
        await click(element, PAYMENT_ID, 'capture');
        await click(element, PAYMENT_ID, 'capture');

        expect(toasts[0].message).toBe(
            'Read timed out (callout_failed). Try again: the retry reuses the same idempotency key.'
        );
        expect(capture.mock.calls[1][0]).toEqual({
            recordId: ORDER_ID,
            paymentId: PAYMENT_ID,
            amount: 50,
            idempotencyKey: 'key-timed-out'
        });
        expect(toasts[1].variant).toBe('success');
    });

    it('shows an Apex error in an error toast', async () => {
        refund.mockRejectedValue({
            body: { message: 'Insufficient access to PaybridgePaymentTimeline' }
        });
        const { element, toasts } = await loaded();

        await click(element, 'pay_other', 'refund');

        expect(toasts).toEqual([
            {
                variant: 'error',
                title: 'Refund failed',
                message: 'Insufficient access to PaybridgePaymentTimeline'
            }
        ]);
        expect($(element, 'lightning-spinner')).toBeNull(); // not left busy
    });

    it('refreshes on demand', async () => {
        const { element } = await loaded();

        $(element, 'lightning-button-icon.refresh').click();

        expect(refreshApex).toHaveBeenCalledTimes(1);
    });
});
