// What the pricing page offers. Regions must be served by an enabled node; terms must be
// allowed by the plans.term CHECK constraint.
export const REGIONS = [
  { id: 'eu-west', label: 'Europe (West)' },
  { id: 'us-east', label: 'US East' },
  { id: 'us-west', label: 'US West' },
  { id: 'ap-south', label: 'Asia Pacific (Mumbai)' },
];

export const TERMS = ['monthly'];
