/**
 * paybridge payment timeline for Order and CKO_Payment__c record pages: each payment's status,
 * amounts, actions and integration logs, with Capture / Refund / Void buttons that run the same
 * Apex as the Flow actions (record access, idempotency and error results are theirs).
 * Apex in LWC: https://developer.salesforce.com/docs/platform/lwc/guide/apex.html
 * refreshApex: https://developer.salesforce.com/docs/platform/lwc/guide/apex-result-caching.html
 */
import { LightningElement, api, wire } from 'lwc';
import { refreshApex } from '@salesforce/apex';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import LightningConfirm from 'lightning/confirm';
import paymentsOf from '@salesforce/apex/PaybridgePaymentTimeline.paymentsOf';
import capture from '@salesforce/apex/PaybridgePaymentTimeline.capture';
import refund from '@salesforce/apex/PaybridgePaymentTimeline.refund';
import voidPayment from '@salesforce/apex/PaybridgePaymentTimeline.voidPayment';
import { OPERATION_LABELS, errorMessage, failureMessage, parseAmount, toView } from './timeline';

const CALLS = { capture, refund, void: voidPayment };

export default class PaybridgePaymentTimeline extends LightningElement {
    @api recordId;

    payments = [];
    loadError;
    loaded = false;
    busy = false;
    /** Amount text typed per Checkout.com payment id. */
    amounts = {};
    /** Idempotency key of a retryable failure, per operation, payment and amount. */
    retryKeys = {};
    wiredPayments;

    @wire(paymentsOf, { recordId: '$recordId' })
    receivePayments(result) {
        this.wiredPayments = result;
        const { data, error } = result;
        if (data) {
            this.payments = data.map(toView);
            this.loadError = undefined;
            this.loaded = true;
        } else if (error) {
            this.payments = [];
            this.loadError = errorMessage(error);
            this.loaded = true;
        }
    }

    get loading() {
        return !this.loaded || this.busy;
    }

    get isEmpty() {
        return this.loaded && !this.loadError && this.payments.length === 0;
    }

    handleAmountChange(event) {
        this.amounts = { ...this.amounts, [event.target.dataset.payment]: event.detail.value };
    }

    handleRefresh() {
        return refreshApex(this.wiredPayments);
    }

    async handleOperation(event) {
        if (this.busy) {
            return; // one money movement at a time: a double click must not send two
        }
        const { operation, payment } = event.target.dataset;
        const label = OPERATION_LABELS[operation];
        const params = { recordId: this.recordId, paymentId: payment };
        if (operation !== 'void') {
            const amount = parseAmount(this.amounts[payment]);
            if (amount === undefined) {
                this.toast(
                    'error',
                    `${label} not sent`,
                    'Enter an amount above 0, or none for all.'
                );
                return;
            }
            params.amount = amount;
        }
        const retryKey = `${operation}|${payment}|${params.amount ?? ''}`;
        params.idempotencyKey = this.retryKeys[retryKey] ?? null;
        const confirmed = await LightningConfirm.open({
            label: `${label} payment`,
            message: `${label} ${this.describeAmount(payment, params.amount)} of ${payment}?`,
            theme: 'warning'
        });
        if (!confirmed) {
            return;
        }
        this.busy = true;
        try {
            const result = await CALLS[operation](params);
            if (result.success) {
                delete this.retryKeys[retryKey];
                this.toast(
                    'success',
                    `${label} requested`,
                    `paybridge accepted it; payment status: ${result.paymentStatus ?? 'unchanged'}.`
                );
                await refreshApex(this.wiredPayments);
            } else {
                if (result.retryable) {
                    this.retryKeys[retryKey] = result.idempotencyKey;
                } else {
                    delete this.retryKeys[retryKey];
                }
                this.toast('error', `${label} failed`, failureMessage(result));
            }
        } catch (error) {
            this.toast('error', `${label} failed`, errorMessage(error));
        } finally {
            this.busy = false;
        }
    }

    describeAmount(paymentId, amount) {
        if (amount === undefined) {
            return 'the authorization';
        }
        if (amount === null) {
            return 'all that remains';
        }
        const payment = this.payments.find((candidate) => candidate.paymentId === paymentId);
        return payment?.currencyCode ? `${amount} ${payment.currencyCode}` : `${amount}`;
    }

    toast(variant, title, message) {
        this.dispatchEvent(new ShowToastEvent({ title, message, variant }));
    }
}
