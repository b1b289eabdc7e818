// Routes of the single-page app. Checkout returns to /dashboard (success) and /pricing
// (canceled); both must stay routed.
import { BrowserRouter, Navigate, Route, Routes } from 'react-router-dom';
import { AuthProvider } from './hooks/useAuth';
import { REGIONS, TERMS } from './lib/catalog';

function Pricing() {
  return <p>Plans are billed {TERMS.join(' or ')} in {REGIONS.map((r) => r.label).join(', ')}.</p>;
}

function Dashboard() {
  return <p>Your servers</p>;
}

export default function App() {
  return (
    <AuthProvider>
      <BrowserRouter>
        <Routes>
          <Route path="/" element={<Navigate to="/pricing" replace />} />
          <Route path="/pricing" element={<Pricing />} />
          <Route path="/dashboard" element={<Dashboard />} />
          <Route path="*" element={<p>Not found</p>} />
        </Routes>
      </BrowserRouter>
    </AuthProvider>
  );
}
