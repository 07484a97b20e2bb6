"""Pure translations between paybridge state, Checkout.com wire models and Salesforce records."""
