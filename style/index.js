import './base.css';
import './models-panel.css';
