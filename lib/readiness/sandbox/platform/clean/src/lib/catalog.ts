// What the pricing page offers. Regions must be served by an enabled node; terms must be
// allowed by the plans.term CHECK constraint.
export const REGIONS = [
  { id: 'eu-west', label: 'Europe (West)' },
  { id: 'us-east', label: 'US East' },
  { id: 'us-west', label: 'US West' },
];

export const TERMS = ['monthly'];
